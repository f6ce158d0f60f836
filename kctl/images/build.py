"""The images kctl builds: a packed directory or binary, busybox, and the pause image.

``pack`` turns a root filesystem directory into a one-layer image, or a static binary
into an image holding just ``/<name>`` with it as the entrypoint. The busybox image is
Debian's static busybox with a link for every applet in ``/bin`` (``sh``, ``httpd``,
``sleep``, ``wget``...), a minimal ``/etc/passwd`` and a ``/tmp``: enough for the
examples and tests. The pause image, every pod sandbox's first container, is the
same busybox running ``sleep infinity``; kctl builds it because no registry is
reachable to pull one.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from kctl.images.archive import BuiltImage, ImageConfig, build_image, write_archive
from kctl.images.layer import LayerBuilder
from kctl.images.reference import parse

BUSYBOX = "/bin/busybox"
PAUSE_IMAGE = "localhost/kctl/pause:1"
PAUSE_ENTRYPOINT = ["/bin/sleep", "infinity"]

_PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = b"root:x:0:\nnogroup:x:65534:\n"


class BuildError(RuntimeError):
    pass


def find_busybox(path: str | None = None) -> Path:
    """A static busybox (``busybox-static``): the image must run without a libc."""
    candidate = Path(path or os.environ.get("KCTL_BUSYBOX") or BUSYBOX)
    if not candidate.is_file():
        raise BuildError(f"{candidate} not found: install Debian's busybox-static")
    return candidate


def busybox_applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    return sorted({line.strip() for line in out.stdout.splitlines() if line.strip()} - {"busybox"})


def _write(
    ref: str, layer: LayerBuilder, config: ImageConfig, out: Path, history: str
) -> BuiltImage:
    reference = parse(ref)
    with tempfile.TemporaryDirectory(prefix="kctl-image-") as work:
        built = build_image(reference, [layer.build(Path(work))], config, history)
        write_archive([built], out)
    return built


def pack(src: Path, ref: str, out: Path, config: ImageConfig) -> BuiltImage:
    """Pack a directory (the root filesystem) or a single executable file."""
    layer = LayerBuilder()
    if src.is_dir():
        layer.add_tree(src)
        layer.add_dir("/tmp", 0o1777)
    elif src.is_file():
        if not os.access(src, os.X_OK):
            raise BuildError(f"{src} is not executable: pack a directory or a static binary")
        inside = "/" + src.name
        layer.add_file(inside, source=src, mode=0o755)
        if not config.entrypoint:
            config.entrypoint = [inside]
    else:
        raise BuildError(f"{src}: no such file or directory")
    return _write(ref, layer, config, out, f"kctl image pack {src.name}")


def busybox_layer(busybox: Path, applets: list[str] | None = None) -> LayerBuilder:
    layer = LayerBuilder()
    layer.add_file("/bin/busybox", source=busybox, mode=0o755)
    for applet in applets if applets is not None else busybox_applets(busybox):
        if "/" not in applet:
            layer.add_symlink(f"/bin/{applet}", "busybox")
    return layer


def busybox_image(ref: str, out: Path, busybox: str | None = None) -> BuiltImage:
    """The busybox image: every applet linked in /bin, ``sh`` as the default command."""
    binary = find_busybox(busybox)
    layer = busybox_layer(binary)
    layer.add_file("/etc/passwd", data=_PASSWD)
    layer.add_file("/etc/group", data=_GROUP)
    layer.add_dir("/root", 0o700)
    layer.add_dir("/tmp", 0o1777)
    layer.add_dir("/var/www")
    return _write(ref, layer, ImageConfig(cmd=["sh"]), out, "kctl image busybox")


def pause_image(out: Path, ref: str = PAUSE_IMAGE, busybox: str | None = None) -> BuiltImage:
    """The sandbox image: busybox's ``sleep infinity`` and nothing else."""
    layer = busybox_layer(find_busybox(busybox), ["sleep"])
    config = ImageConfig(entrypoint=list(PAUSE_ENTRYPOINT))
    return _write(ref, layer, config, out, "kctl pause")
