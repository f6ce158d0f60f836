"""OCI image archives: write one from layers and a config, read one back.

An archive is a tar of an OCI image layout (``oci-layout``, ``index.json``,
``blobs/sha256/...``) plus Docker's ``manifest.json``, so both ``ctr images import``
and tools that only know ``docker load`` archives accept it. The index entry carries
the image's normalized name in ``io.containerd.image.name`` (what containerd registers
it as, and so what CRI finds) and its tag in ``org.opencontainers.image.ref.name``.

Images are single-platform: the platform of this machine, since containerd imports
only the native platform and the node runs what it imports.
"""

from __future__ import annotations

import io
import json
import platform
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from kctl.images.layer import Layer, fixed_mtime
from kctl.images.reference import Reference

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (MEDIA_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (MEDIA_INDEX, DOCKER_MANIFEST_LIST)

ANNOTATION_NAME = "io.containerd.image.name"
ANNOTATION_REF = "org.opencontainers.image.ref.name"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def native_platform() -> dict[str, str]:
    """``{"os": "linux", "architecture": "amd64"}`` for this machine."""
    machine = platform.machine().lower()
    return {"os": "linux", "architecture": _ARCH.get(machine, machine)}


def native_platform_string() -> str:
    plat = native_platform()
    return f"{plat['os']}/{plat['architecture']}"


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def sha256_digest(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_path(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"blobs/{algo}/{hexpart}"


@dataclass
class ImageConfig:
    """The runtime part of an image config (``config`` in the OCI config JSON)."""

    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    exposed_ports: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        env = list(self.env)
        if not any(e.startswith("PATH=") for e in env):
            env.insert(0, "PATH=" + DEFAULT_PATH)
        out: dict[str, Any] = {"Env": env}
        if self.entrypoint:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd:
            out["Cmd"] = list(self.cmd)
        if self.workdir:
            out["WorkingDir"] = self.workdir
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {p if "/" in p else p + "/tcp": {} for p in self.exposed_ports}
        if self.labels:
            out["Labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class BuiltImage:
    """A manifest and config ready to be written, with the layers they name."""

    ref: Reference
    manifest: bytes
    config: bytes
    layers: tuple[Layer, ...]

    @property
    def manifest_digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def config_digest(self) -> str:
        return sha256_digest(self.config)


def build_image(
    ref: Reference, layers: list[Layer], config: ImageConfig, history: str = "kctl image pack"
) -> BuiltImage:
    created = _rfc3339(fixed_mtime())
    plat = native_platform()
    config_doc = {
        "architecture": plat["architecture"],
        "os": plat["os"],
        "created": created,
        "config": config.to_json(),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": created, "created_by": history} for _ in layers],
    }
    config_bytes = canonical_json(config_doc)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {
            "mediaType": MEDIA_CONFIG,
            "digest": sha256_digest(config_bytes),
            "size": len(config_bytes),
        },
        "layers": [
            {"mediaType": MEDIA_LAYER_GZIP, "digest": layer.digest, "size": layer.size}
            for layer in layers
        ],
    }
    return BuiltImage(ref, canonical_json(manifest), config_bytes, tuple(layers))


def _rfc3339(epoch: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = fixed_mtime()
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write_archive(images: list[BuiltImage], dest: Path) -> None:
    """Write ``images`` as one OCI archive (plus ``manifest.json``) at ``dest``."""
    entries: list[dict[str, Any]] = []
    docker: list[dict[str, Any]] = []
    written: set[str] = set()
    tmp = dest.with_name(dest.name + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}))
        for dirname in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(dirname)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, fixed_mtime()
            tar.addfile(info)
        for image in images:
            for layer in image.layers:
                if layer.digest not in written:
                    written.add(layer.digest)
                    info = tarfile.TarInfo(blob_path(layer.digest))
                    info.size, info.mode, info.mtime = layer.size, 0o644, fixed_mtime()
                    with layer.path.open("rb") as src:
                        tar.addfile(info, src)
            for digest, data in (
                (image.config_digest, image.config),
                (image.manifest_digest, image.manifest),
            ):
                if digest not in written:
                    written.add(digest)
                    _add_bytes(tar, blob_path(digest), data)
            entries.append(
                {
                    "mediaType": MEDIA_MANIFEST,
                    "digest": image.manifest_digest,
                    "size": len(image.manifest),
                    "platform": native_platform(),
                    "annotations": {ANNOTATION_NAME: image.ref.full, ANNOTATION_REF: image.ref.tag},
                }
            )
            docker.append(
                {
                    "Config": blob_path(image.config_digest),
                    "RepoTags": [image.ref.familiar],
                    "Layers": [blob_path(layer.digest) for layer in image.layers],
                }
            )
        index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": entries}
        _add_bytes(tar, "index.json", canonical_json(index))
        _add_bytes(tar, "manifest.json", canonical_json(docker))
    tmp.replace(dest)


# ---------------------------------------------------------------- reading


class ArchiveError(ValueError):
    pass


@dataclass(frozen=True)
class ArchivedImage:
    """One image found in an archive: its name (may be empty) and manifest."""

    name: str
    manifest_digest: str
    manifest_media_type: str
    manifest: dict[str, Any]
    manifest_bytes: bytes

    @property
    def blobs(self) -> list[dict[str, Any]]:
        """Config then layer descriptors."""
        return [self.manifest["config"], *self.manifest.get("layers", [])]


class OciArchive:
    """Read access to an OCI archive (ours, or one written by ``ctr images export``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._tar = tarfile.open(path, "r:*")
        except (OSError, tarfile.TarError) as exc:
            raise ArchiveError(f"{path}: not a readable tar archive: {exc}") from exc
        self._members = {m.name.lstrip("./"): m for m in self._tar.getmembers() if m.isfile()}

    def close(self) -> None:
        self._tar.close()

    def __enter__(self) -> OciArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_blob(self, digest: str) -> bool:
        return blob_path(digest) in self._members

    def open_blob(self, digest: str) -> IO[bytes]:
        member = self._members.get(blob_path(digest))
        handle = self._tar.extractfile(member) if member else None
        if handle is None:
            raise ArchiveError(f"{self.path}: blob {digest} is missing")
        return handle

    def read_blob(self, digest: str) -> bytes:
        with self.open_blob(digest) as handle:
            return handle.read()

    def blob_size(self, digest: str) -> int:
        member = self._members.get(blob_path(digest))
        if member is None:
            raise ArchiveError(f"{self.path}: blob {digest} is missing")
        return member.size

    def _json(self, name: str) -> Any:
        member = self._members.get(name)
        handle = self._tar.extractfile(member) if member else None
        if handle is None:
            raise ArchiveError(f"{self.path}: no {name} (not an OCI image archive)")
        with handle:
            return json.loads(handle.read())

    def images(self) -> list[ArchivedImage]:
        """The native-platform image of each index entry (an entry that is itself an
        index is resolved to its manifest for this machine's platform)."""
        index = self._json("index.json")
        found: list[ArchivedImage] = []
        for desc in index.get("manifests", []):
            annotations = desc.get("annotations") or {}
            name = annotations.get(ANNOTATION_NAME) or ""
            manifest_desc = self._resolve(desc)
            if manifest_desc is None:
                continue
            data = self.read_blob(manifest_desc["digest"])
            found.append(
                ArchivedImage(
                    name=name,
                    manifest_digest=manifest_desc["digest"],
                    manifest_media_type=manifest_desc.get("mediaType", MEDIA_MANIFEST),
                    manifest=json.loads(data),
                    manifest_bytes=data,
                )
            )
        return found

    def _resolve(self, desc: dict[str, Any]) -> dict[str, Any] | None:
        media = desc.get("mediaType", "")
        if media in MANIFEST_TYPES:
            return desc
        if media in INDEX_TYPES:
            nested = json.loads(self.read_blob(desc["digest"]))
            want = native_platform()
            for child in nested.get("manifests", []):
                plat = child.get("platform") or {}
                if (plat.get("os"), plat.get("architecture")) == (
                    want["os"],
                    want["architecture"],
                ) and self.has_blob(child["digest"]):
                    return self._resolve(child)
        return None

    def iter_names(self) -> Iterator[str]:
        for image in self.images():
            if image.name:
                yield image.name
