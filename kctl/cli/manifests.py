"""Reading ``-f FILE|DIR|-`` into objects, for ``apply``, ``diff`` and ``delete``.

What a kubectl user expects from ``-f``, and why it is done this way here:

* **Inputs.** Files, directories (their ``.json``/``.yaml``/``.yml`` files in name order;
  with ``-R`` their subdirectories too, walked like Go's ``filepath.Walk``) and ``-`` for
  standard input, named ``STDIN`` in messages. A kustomization (a ``kustomization.yaml``
  in a directory, or a document of kind ``Kustomization``) is refused with a clear
  message instead of kubectl's confusing "no matches for kind" error.
* **Documents.** A YAML stream is cut into documents at lines starting with ``---``
  exactly as kubectl's ``YAMLReader`` cuts it (so a bad separator line fails the same
  way), each chunk remembering the line it starts on; a stream whose first character is
  ``{`` is JSON, one or more objects. A ``List`` (or any ``*List`` with ``items``) is
  expanded into its items. Empty documents are skipped.
* **YAML 1.1, as kubectl reads it.** kubectl parses YAML with go-yaml v2, a YAML 1.1
  parser: ``on``/``yes`` are booleans, ``0777`` is octal, timestamps stay strings once
  converted to JSON, a duplicate key is an error. PyYAML is the same YAML 1.1 (libyaml
  heritage, same error texts) and ships a C parser: measured 0.04 ms per small document
  against 0.9 ms for ruamel.yaml's pure-Python round-trip loader, which would cost a
  second on 1,000 ConfigMaps before the first request. Its timestamp resolver is
  removed and its mappings built here (string keys, duplicates refused), which is all
  that separates it from kubectl's reading. Both PyYAML errors and ours carry marks, so
  a syntax error names the file and the line counted from the top of the file (kubectl
  counts from the start of the document), in kubectl's words:
  ``error parsing FILE: error converting YAML to JSON: yaml: line N: ...``.
* **Kinds.** :func:`bind` resolves every document against the kinds registry before
  anything is sent, so an unknown kind stops the command with kubectl's message plus a
  pointer to ``kctl api-resources``, and settles each object's namespace by kubectl's
  rules (the object's own, else ``-n``, else the context's; a conflict with ``-n`` is an
  error).
* **Order.** :func:`dependency_groups` sorts objects so that what others need exists
  first: Namespaces, then ServiceAccounts/ConfigMaps/Secrets, then Services/Endpoints,
  then workloads, then the rest; the sort is stable, so input order holds within a
  group, and each group can be sent in parallel.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.api.kinds import Registry, ResourceInfo

EXTENSIONS = (".json", ".yaml", ".yml")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
STDIN = "STDIN"
_SEPARATOR = "---"

# (group, kind) -> rank; everything else ranks after the workloads.
_RANKS: dict[tuple[str, str], int] = {
    ("", "Namespace"): 0,
    ("", "ServiceAccount"): 1,
    ("", "ConfigMap"): 1,
    ("", "Secret"): 1,
    ("", "Service"): 2,
    ("", "Endpoints"): 2,
    ("apps", "Deployment"): 3,
    ("apps", "ReplicaSet"): 3,
    ("", "Pod"): 3,
}
OTHER_RANK = 4


class ManifestError(CliError):
    """Bad input: reported as ``error: ...`` before anything is sent (exit 1)."""


# --- documents --------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One object read from the input, and where it came from (for messages)."""

    obj: dict[str, Any]
    source: str  # the path as the user gave it (joined for directories), or STDIN
    index: int  # 1-based position among the source's (non-empty) documents
    line: int  # 1-based line of the source where the document starts
    item: int | None = None  # 1-based position inside a List document

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "")

    @property
    def where(self) -> str:
        """``m/app.yaml, document 2`` (``, item 3`` inside a List)."""
        text = f"{self.source}, document {self.index}"
        return text + (f", item {self.item}" if self.item is not None else "")


def load(
    paths: Iterable[str], *, recursive: bool = False, stdin: TextIO | None = None
) -> list[Document]:
    """Every document of every ``-f`` input, in input order."""
    docs: list[Document] = []
    for path in paths:
        for source in expand(path, recursive=recursive):
            if source == "-":
                text = (stdin or sys.stdin).read()
                docs.extend(parse(text, STDIN))
                continue
            try:
                with open(source, encoding="utf-8-sig") as fh:
                    text = fh.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise ManifestError(f"error reading {source}: {exc}") from None
            docs.extend(parse(text, source))
    return docs


def expand(path: str, *, recursive: bool = False) -> list[str]:
    """The files one ``-f`` argument names (``-`` stays ``-``)."""
    if path == "-":
        return ["-"]
    if not os.path.exists(path):
        raise ManifestError(f'the path "{path}" does not exist')
    if not os.path.isdir(path):
        if os.path.basename(path) in KUSTOMIZATION_FILES:
            raise _kustomization(os.path.dirname(path) or ".")
        return [path]
    files = list(_walk(path, recursive))
    if not files:
        raise ManifestError(
            f"error reading [{path}]: recognized file extensions are [.json .yaml .yml]"
        )
    return files


def _walk(directory: str, recursive: bool) -> Iterator[str]:
    """Go's ``filepath.Walk`` order: entries sorted by name, directories entered in
    place. Without ``recursive`` only the top directory's files."""
    entries = sorted(os.listdir(directory))
    if any(name in KUSTOMIZATION_FILES for name in entries):
        raise _kustomization(directory)
    for name in entries:
        full = os.path.normpath(os.path.join(directory, name))
        if os.path.isdir(full):
            if recursive:
                yield from _walk(full, recursive)
        elif name.endswith(EXTENSIONS):
            yield full


def _kustomization(directory: str) -> ManifestError:
    return ManifestError(
        f'"{directory}" is a kustomization directory: kustomize is not supported by kctl; '
        f"render it first, e.g. kubectl kustomize {directory} | kctl apply -f -"
    )


def parse(text: str, source: str) -> list[Document]:
    """The documents of one stream (JSON if it starts with ``{``, else YAML)."""
    stripped = text.lstrip()
    raw = (
        _json_documents(text, source) if stripped.startswith("{") else _yaml_documents(text, source)
    )
    docs: list[Document] = []
    for index, (line, value) in enumerate(raw, start=1):
        docs.extend(_objects(value, source, index, line))
    return docs


def _objects(value: Any, source: str, index: int, line: int) -> Iterator[Document]:
    doc = Document(value if isinstance(value, dict) else {}, source, index, line)
    if not isinstance(value, dict):
        raise _invalid_data(doc, "invalid object to validate")
    _check_type_fields(doc)
    items = value.get("items")
    if doc.kind.endswith("List") and isinstance(items, list):
        for n, item in enumerate(items, start=1):
            sub = Document(item if isinstance(item, dict) else {}, source, index, line, n)
            if not isinstance(item, dict):
                raise _invalid_data(sub, "invalid object to validate")
            _check_type_fields(sub)
            yield sub
        return
    yield doc


def _check_type_fields(doc: Document) -> None:
    missing = [f"{field} not set" for field in ("apiVersion", "kind") if not doc.obj.get(field)]
    if missing:
        raise _invalid_data(doc, "[" + ", ".join(missing) + "]")
    if doc.kind == "Kustomization":
        raise ManifestError(
            f"{doc.where} is a Kustomization: kustomize is not supported by kctl; render it "
            "first, e.g. kubectl kustomize DIR | kctl apply -f -"
        )


def _invalid_data(doc: Document, what: str) -> ManifestError:
    where = f"document {doc.index}" + (f", item {doc.item}" if doc.item is not None else "")
    return ManifestError(
        f'error validating "{doc.source}": error validating data: {what} ({where})'
    )


# --- YAML and JSON ----------------------------------------------------------------------


def _yaml_documents(text: str, source: str) -> Iterator[tuple[int, Any]]:
    for start, chunk in split_yaml(text, source):
        value = load_yaml(chunk, source, first_line=start)
        if value is not None:
            yield start, value


def split_yaml(text: str, source: str) -> Iterator[tuple[int, str]]:
    """``(first line, text)`` of each document, cut at ``---`` lines as kubectl's
    ``YAMLReader`` does: only spaces or a comment may follow the separator."""
    lines = text.splitlines(keepends=True)
    start = 1
    chunk: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith(_SEPARATOR):
            rest = line[len(_SEPARATOR) :].strip()
            if rest and not rest.startswith("#"):
                raise ManifestError(
                    f"error parsing {source}: invalid Yaml document separator: {rest}"
                )
            if chunk:
                yield start, "".join(chunk)
            start, chunk = number + 1, []
            continue
        chunk.append(line)
    if chunk:
        yield start, "".join(chunk)


def load_yaml(text: str, source: str, *, first_line: int = 1) -> Any:
    """One YAML document as JSON-compatible data; syntax errors name ``source`` and the
    line in it (``first_line`` is where ``text`` starts)."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark is not None else first_line
        problem = exc.problem or exc.context or "invalid YAML"
        raise ManifestError(
            f"error parsing {source}: error converting YAML to JSON: yaml: line {line}: {problem}"
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError(
            f"error parsing {source}: error converting YAML to JSON: {exc}"
        ) from None


_LOADER: type | None = None
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _loader() -> type:
    """A safe loader (C-accelerated when PyYAML has it) that reads YAML the way
    ``sigs.k8s.io/yaml`` does: no timestamp type, string keys, no duplicate keys."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc,valid-type]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
    Loader.add_constructor(_TIMESTAMP_TAG, Loader.construct_yaml_str)
    Loader.add_constructor("tag:yaml.org,2002:binary", _construct_binary)
    _LOADER = Loader
    return Loader


def _construct_mapping(loader: Any, node: Any) -> dict[str, Any]:
    import yaml

    loader.flatten_mapping(node)  # merge keys (<<)
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = _json_key(loader.construct_object(key_node, deep=True))
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f'key "{key}" already set in map', key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
    return out


def _construct_binary(loader: Any, node: Any) -> str:
    # JSON has no bytes: keep the base64 text, as sigs.k8s.io/yaml does.
    return "".join(str(loader.construct_scalar(node)).split())


def _json_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, bytes):
        return base64.b64encode(key).decode()
    return key if isinstance(key, str) else str(key)


def _json_documents(text: str, source: str) -> Iterator[tuple[int, Any]]:
    """One or more JSON values, one after the other (kubectl's JSON stream)."""
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ManifestError(
                f"error parsing {source}: json: line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        if value is not None:
            yield line, value


# --- kinds, namespaces, order --------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """A document bound to its served kind and the namespace it will live in."""

    doc: Document
    info: ResourceInfo
    namespace: str | None  # None for cluster-scoped kinds

    @property
    def name(self) -> str:
        return self.doc.name

    @property
    def obj(self) -> dict[str, Any]:
        return self.doc.obj

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.info.resource, self.namespace or "", self.name)

    @property
    def qualified(self) -> str:
        """``deployment.apps/web``."""
        kind = self.info.kind.lower()
        return f"{kind}.{self.info.group}/{self.name}" if self.info.group else f"{kind}/{self.name}"

    def body(self) -> dict[str, Any]:
        """The object to send: the document with its namespace settled."""
        md = dict(self.obj.get("metadata") or {})
        if self.namespace:
            md["namespace"] = self.namespace
        else:
            md.pop("namespace", None)
        return {**self.obj, "metadata": md}


def bind(
    docs: Iterable[Document],
    registry: Registry,
    default_namespace: str,
    *,
    explicit_namespace: str | None = None,
) -> list[Manifest]:
    """Resolve each document's kind and namespace; the first problem stops everything."""
    out: list[Manifest] = []
    for doc in docs:
        info = registry.by_api_version_kind(doc.api_version, doc.kind)
        if info is None:
            raise unknown_kind(doc)
        namespace: str | None = None
        if info.namespaced:
            own = str((doc.obj.get("metadata") or {}).get("namespace") or "")
            if own and explicit_namespace and own != explicit_namespace:
                raise ManifestError(
                    f'the namespace from the provided object "{own}" does not match the '
                    f"namespace \"{explicit_namespace}\". You must pass '--namespace={own}' "
                    "to perform this operation."
                )
            namespace = own or default_namespace
        out.append(Manifest(doc, info, namespace))
    return out


def unknown_kind(doc: Document) -> ManifestError:
    namespace = str((doc.obj.get("metadata") or {}).get("namespace") or "")
    return ManifestError(
        f'resource mapping not found for name: "{doc.name}" namespace: "{namespace}" from '
        f'"{doc.source}": no matches for kind "{doc.kind}" in version "{doc.api_version}"\n'
        "run `kctl api-resources` to see the kinds this server serves"
    )


def rank(info: ResourceInfo) -> int:
    return _RANKS.get((info.group, info.kind), OTHER_RANK)


def dependency_order(manifests: Iterable[Manifest]) -> list[Manifest]:
    """Stable sort by :func:`rank`."""
    return sorted(manifests, key=lambda m: rank(m.info))


def dependency_groups(manifests: Iterable[Manifest]) -> list[list[Manifest]]:
    """Consecutive groups of equal rank, in dependency order."""
    groups: list[list[Manifest]] = []
    last = -1
    for manifest in dependency_order(manifests):
        current = rank(manifest.info)
        if not groups or current != last:
            groups.append([])
            last = current
        groups[-1].append(manifest)
    return groups
