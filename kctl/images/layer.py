"""One image layer: a gzipped tar built from a directory, host files or synthesized entries.

Layers are reproducible: entries go in path order, every file is owned by root (as a
``COPY`` in a Dockerfile makes it) and carries one fixed modification time
(``SOURCE_DATE_EPOCH`` when set, else the epoch), and gzip writes no timestamp. The
same input therefore gives the same digests, so re-packing the pause image does not
leave a new image behind in containerd.

The layer is streamed to a temporary file while both digests are computed: the
uncompressed one (the config's ``diff_id``) and the compressed one (the blob's name).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol


def fixed_mtime() -> int:
    try:
        return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    except ValueError:
        return 0


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _HashingWriter(io.RawIOBase):
    """Writes through to ``target`` and hashes what passes."""

    def __init__(self, target: _Sink) -> None:
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.size

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sha.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)


@dataclass(frozen=True)
class Layer:
    """A finished layer: its gzipped blob in ``path`` (a temporary file) and digests."""

    path: Path
    digest: str  # sha256:... of the gzipped blob
    size: int
    diff_id: str  # sha256:... of the uncompressed tar


@dataclass(frozen=True)
class _Entry:
    kind: str  # "dir" | "file" | "symlink"
    mode: int = 0o755
    source: Path | None = None  # file from the host
    data: bytes | None = None  # or file content
    target: str = ""  # symlink target


def _clean(path: str) -> str:
    """``/bin/sh`` -> ``bin/sh`` (tar member names are relative)."""
    clean = str(PurePosixPath("/", path)).lstrip("/")
    if not clean or clean == "." or ".." in PurePosixPath(clean).parts:
        raise ValueError(f"invalid path in image: {path!r}")
    return clean


class LayerBuilder:
    """Collects entries, then writes them as one layer with :meth:`build`.

    Parent directories are added implicitly (mode 0755).
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def _parents(self, name: str) -> None:
        parent = PurePosixPath(name).parent
        while str(parent) != ".":
            self._entries.setdefault(str(parent), _Entry("dir"))
            parent = parent.parent

    def add_dir(self, path: str, mode: int = 0o755) -> None:
        name = _clean(path)
        self._parents(name)
        self._entries[name] = _Entry("dir", mode)

    def add_file(
        self, path: str, *, source: Path | None = None, data: bytes | None = None, mode: int = 0o644
    ) -> None:
        if (source is None) == (data is None):
            raise ValueError("a file needs exactly one of source or data")
        name = _clean(path)
        self._parents(name)
        self._entries[name] = _Entry("file", mode, source=source, data=data)

    def add_symlink(self, path: str, target: str) -> None:
        name = _clean(path)
        self._parents(name)
        self._entries[name] = _Entry("symlink", 0o777, target=target)

    def add_tree(self, root: Path, dest: str = "/") -> None:
        """Everything under ``root`` at ``dest``: directories, regular files, symlinks
        (kept as links). Other file types (devices, sockets) are skipped."""
        base = PurePosixPath("/", dest)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to(root)
            for name in sorted(dirnames) + sorted(filenames):
                host = Path(dirpath) / name
                inside = str(base / rel_dir.as_posix() / name)
                st = host.lstat()
                perm = stat.S_IMODE(st.st_mode)
                if stat.S_ISLNK(st.st_mode):
                    self.add_symlink(inside, os.readlink(host))
                elif stat.S_ISDIR(st.st_mode):
                    self.add_dir(inside, perm)
                elif stat.S_ISREG(st.st_mode):
                    self.add_file(inside, source=host, mode=perm)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def _write_tar(self, out: BinaryIO) -> None:
        mtime = fixed_mtime()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(self._entries):
                entry = self._entries[name]
                info = tarfile.TarInfo(name)
                info.mtime = mtime
                info.mode = entry.mode
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if entry.kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif entry.kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = entry.target
                    tar.addfile(info)
                elif entry.data is not None:
                    info.size = len(entry.data)
                    tar.addfile(info, io.BytesIO(entry.data))
                else:
                    assert entry.source is not None
                    info.size = entry.source.stat().st_size
                    with entry.source.open("rb") as src:
                        tar.addfile(info, src)

    def build(self, workdir: Path | None = None) -> Layer:
        """Write the layer to a temporary file (in ``workdir``) and return it."""
        fd, name = tempfile.mkstemp(prefix="layer-", suffix=".tar.gz", dir=workdir)
        with os.fdopen(fd, "wb") as raw:
            compressed = _HashingWriter(raw)
            with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0) as gz:
                plain = _HashingWriter(gz)
                self._write_tar(plain)  # type: ignore[arg-type]
        return Layer(
            path=Path(name),
            digest="sha256:" + compressed.sha.hexdigest(),
            size=compressed.size,
            diff_id="sha256:" + plain.sha.hexdigest(),
        )
