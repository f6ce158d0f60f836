"""Import an image archive into a containerd, where CRI will find it.

CRI sees only containerd's ``k8s.io`` namespace, so that is where images go. Only the
native platform is imported (``--platform`` with ``--all-platforms=false``): a
multi-platform archive then imports the one image this node can run instead of
failing on blobs for other platforms that the archive does not carry, as happens with
kind. ``ctr`` is containerd's own client and ships with it; using it keeps the
containerd content API (a streaming gRPC service) out of kctl.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from kctl.images.archive import native_platform_string

CRI_NAMESPACE = "k8s.io"


class LoadError(RuntimeError):
    pass


def ctr_binary() -> str:
    found = shutil.which("ctr")
    if not found:
        raise LoadError("ctr not found: install Debian's containerd (scripts/setup.sh)")
    return found


def _ctr_images(
    socket: str | Path, namespace: str, verb: str, args: list[str], timeout: float, what: str
) -> str:
    """Run ``ctr images VERB --platform <native> ARGS`` against ``socket``; its stdout."""
    cmd = [
        ctr_binary(),
        "--address",
        str(socket),
        "--namespace",
        namespace,
        "images",
        verb,
        "--platform",
        native_platform_string(),
        *args,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"ctr images {verb} timed out after {timeout:.0f}s") from exc
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LoadError(f"{what} failed: {detail}")
    return proc.stdout


def import_archive(
    socket: str | Path,
    archive: str | Path,
    *,
    namespace: str = CRI_NAMESPACE,
    timeout: float = 300.0,
) -> list[str]:
    """Import ``archive`` into the containerd at ``socket``; returns the image names."""
    out = _ctr_images(
        socket, namespace, "import", ["--all-platforms=false", str(archive)], timeout,
        f"importing {archive} into {socket}",
    )
    # ctr prints "unpacking NAME (sha256:...)...done" per image.
    return re.findall(r"unpacking (\S+) \(", out)


def export_image(
    socket: str | Path,
    name: str,
    dest: str | Path,
    *,
    namespace: str = CRI_NAMESPACE,
    timeout: float = 300.0,
) -> None:
    """Export one image (native platform) from containerd into an OCI archive."""
    _ctr_images(
        socket, namespace, "export", [str(dest), name], timeout, f"exporting {name} from {socket}"
    )
