"""Archives written by kctl image pack/busybox: layout, digests, reproducibility, and an
independent reader (skopeo) agreeing with them."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from kctl.images.archive import ANNOTATION_NAME, ImageConfig, OciArchive, native_platform
from kctl.images.build import BuildError, busybox_image, pack, pause_image


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc" / "motd").write_text("hi\n")
    (root / "bin" / "tool").write_bytes(b"#!/bin/sh\necho tool\n")
    (root / "bin" / "tool").chmod(0o755)
    os.symlink("tool", root / "bin" / "alias")
    return root


def test_pack_directory_layout_and_digests(tmp_path: Path) -> None:
    out = tmp_path / "img.tar"
    config = ImageConfig(entrypoint=["/bin/tool"], cmd=["--x"], env=["A=B"], workdir="/etc")
    built = pack(_rootfs(tmp_path), "web:dev", out, config)
    files = _members(out)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    (entry,) = index["manifests"]
    assert entry["annotations"][ANNOTATION_NAME] == "docker.io/library/web:dev"
    assert entry["platform"] == native_platform()
    # Every blob is stored under its own digest.
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(files[f"blobs/sha256/{entry['digest'].split(':')[1]}"])
    cfg = json.loads(files[f"blobs/sha256/{manifest['config']['digest'].split(':')[1]}"])
    assert cfg["config"]["Entrypoint"] == ["/bin/tool"]
    assert cfg["config"]["Cmd"] == ["--x"]
    assert cfg["config"]["WorkingDir"] == "/etc"
    assert "A=B" in cfg["config"]["Env"] and any(
        e.startswith("PATH=") for e in cfg["config"]["Env"]
    )
    layer_gz = files[f"blobs/sha256/{manifest['layers'][0]['digest'].split(':')[1]}"]
    layer = gzip.decompress(layer_gz)
    assert "sha256:" + hashlib.sha256(layer).hexdigest() == cfg["rootfs"]["diff_ids"][0]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        entries = {m.name: m for m in tar.getmembers()}
    assert entries["bin/alias"].issym() and entries["bin/alias"].linkname == "tool"
    assert entries["bin/tool"].mode == 0o755 and entries["bin/tool"].uid == 0
    assert entries["tmp"].mode == 0o1777
    docker = json.loads(files["manifest.json"])
    assert docker[0]["RepoTags"] == ["web:dev"]
    assert built.manifest_digest == entry["digest"]


def test_pack_is_reproducible(tmp_path: Path) -> None:
    root = _rootfs(tmp_path)
    first = pack(root, "web:dev", tmp_path / "a.tar", ImageConfig())
    os.utime(root / "etc" / "motd", (1, 1))
    second = pack(root, "web:dev", tmp_path / "b.tar", ImageConfig())
    assert first.manifest_digest == second.manifest_digest
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_pack_static_binary_becomes_entrypoint(tmp_path: Path) -> None:
    built = pack(Path("/bin/busybox"), "bb:1", tmp_path / "bin.tar", ImageConfig())
    assert json.loads(built.config)["config"]["Entrypoint"] == ["/busybox"]


@pytest.mark.parametrize("src", ["missing", "not-executable"])
def test_pack_rejects_bad_sources(tmp_path: Path, src: str) -> None:
    path = tmp_path / src
    if src == "not-executable":
        path.write_text("data")
    with pytest.raises(BuildError):
        pack(path, "x:1", tmp_path / "out.tar", ImageConfig())


def test_busybox_and_pause_images(tmp_path: Path) -> None:
    busybox_image("busybox:kctl", tmp_path / "bb.tar")
    with OciArchive(tmp_path / "bb.tar") as archive:
        (image,) = archive.images()
        layer = gzip.decompress(archive.read_blob(image.manifest["layers"][0]["digest"]))
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        names = {m.name: m for m in tar.getmembers()}
    for applet in ("sh", "httpd", "sleep", "wget", "cat", "echo"):
        assert names[f"bin/{applet}"].linkname == "busybox"
    assert "etc/passwd" in names
    pause = pause_image(tmp_path / "pause.tar")
    assert json.loads(pause.config)["config"]["Entrypoint"] == ["/bin/sleep", "infinity"]


@pytest.mark.skipif(
    shutil.which("skopeo") is None and not os.environ.get("CI"),
    reason="skopeo not installed (scripts/setup.sh)",
)
def test_skopeo_reads_the_archive(tmp_path: Path) -> None:
    out = tmp_path / "img.tar"
    pack(_rootfs(tmp_path), "web:dev", out, ImageConfig(entrypoint=["/bin/tool"]))
    proc = subprocess.run(
        ["skopeo", "inspect", "--config", f"oci-archive:{out}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(proc.stdout)["config"]["Entrypoint"] == ["/bin/tool"]
