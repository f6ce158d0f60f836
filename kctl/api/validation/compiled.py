"""Compiling each kind's schema once: fastjsonschema code, disk cache, warm-up.

Why it exists: validating with jsonschema costs ~21 ms per object; fastjsonschema turns
the schema into Python source that checks the same object in ~0.04 ms. Compiling that
source is itself slow (seconds for the big kinds), so it must happen at most once per
kind per process, ideally never: the generated code is cached on disk and a server
warms every kind in a background thread at start-up.

Design:

- :class:`CompiledKind` holds everything per kind: the schema (from
  :func:`~.schema.kind_schema`), the fast validator, the unknown-field shape tree
  (:mod:`.unknown`) and, lazily, the jsonschema explainer (:mod:`.explain`).
- :class:`CompiledKinds` compiles on first use, thread-safely (one lock per kind, so two
  kinds compile in parallel but one kind never twice), and :meth:`~CompiledKinds.warm`
  does it ahead of time. :class:`~.validator.Validator` builds on it.
- The disk cache file is ``validator-<resource>-<version>-<digest>.py`` under
  ``$XDG_CACHE_HOME/kctl`` (or the server's cache dir); the digest covers the transform
  version, the versions of kubernetes-validate and fastjsonschema, the Kubernetes
  version and the kind's definition (or a hash of a custom schema), so stale code is
  never loaded. Writes go through a temp file and ``os.replace``; a read-only cache is
  logged and ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kctl.api import upstream
from kctl.api.validation.explain import make_explainer
from kctl.api.validation.schema import FORMATS, kind_schema
from kctl.api.validation.unknown import build_shape

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

# The package's logger, as before the split (one name for all validation logging).
log = logging.getLogger("kctl.api.validation")

# Bump when the schema transformation changes, to invalidate cached code.
_TRANSFORM_VERSION = "1"


def _package_version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return "0"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kctl"


_KEY_RE = re.compile(r"[^A-Za-z0-9_.-]")


class CompiledKind:
    """Everything per kind: the fast validator, the shape tree, the explainer."""

    def __init__(self, schema: dict[str, Any], fast: Callable[[Any], Any]) -> None:
        self.schema = schema
        self.fast = fast
        self.shape = build_shape(schema)
        self._explainer: Any = None
        self._lock = threading.Lock()

    def explainer(self) -> Any:
        with self._lock:
            if self._explainer is None:
                self._explainer = make_explainer(self.schema)
            return self._explainer


class CompiledKinds:
    """Compiles each kind once (thread-safe), loading and saving the disk cache."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir or default_cache_dir()
        self._compiled: dict[str, CompiledKind] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _cache_key(self, info: ResourceInfo, schema: dict[str, Any]) -> str:
        stamp = "|".join(
            (
                _TRANSFORM_VERSION,
                _package_version("kubernetes-validate"),
                _package_version("fastjsonschema"),
                upstream.KUBERNETES_VERSION,
                info.upstream_definition
                or hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest(),
            )
        )
        digest = hashlib.sha256(stamp.encode()).hexdigest()[:16]
        return f"{_KEY_RE.sub('_', info.resource)}-{info.version}-{digest}"

    def _load_fast(self, info: ResourceInfo, schema: dict[str, Any]) -> Callable[[Any], Any]:
        import fastjsonschema

        path = self.cache_dir / f"validator-{self._cache_key(info, schema)}.py"
        code: str | None = None
        try:
            code = path.read_text()
        except OSError:
            pass
        if code is None:
            code = fastjsonschema.compile_to_code(
                schema, formats=FORMATS, use_default=False, detailed_exceptions=False
            )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_text(code)
                os.replace(tmp, path)
            except OSError as err:  # a read-only home must not stop the server
                log.warning("cannot cache compiled validator %s: %s", path, err)
        namespace: dict[str, Any] = {}
        exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - our own generated code
        validate_fn = namespace["validate"]
        return validate_fn  # type: ignore[no-any-return]

    def compiled(self, info: ResourceInfo) -> CompiledKind:
        key = info.resource
        done = self._compiled.get(key)
        if done is not None:
            return done
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            done = self._compiled.get(key)
            if done is None:
                schema = kind_schema(info)
                done = CompiledKind(schema, self._load_fast(info, schema))
                self._compiled[key] = done
        return done

    def warm(self, infos: Iterable[ResourceInfo]) -> None:
        """Compile (or load from the disk cache) every kind; run in a background thread."""
        for info in infos:
            try:
                self.compiled(info)
            except Exception:  # a broken kind must not stop the others
                log.exception("cannot compile validator for %s", info.resource)
