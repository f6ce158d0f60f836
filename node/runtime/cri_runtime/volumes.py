"""A pod's volumes as directories on the host, and each container's CRI mounts.

Layout is the kubelet's, under the node's data dir instead of /var/lib/kubelet:
``DATA_DIR/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>``. emptyDir is a plain
directory (medium Memory too: no tmpfs is mounted, so nothing needs unmounting);
hostPath is the host's path, checked or created per its ``type``; configMap and secret
volumes are files written the way the kubelet's atomic writer lays them out (a
timestamped ``..<ts>`` directory, a ``..data`` link to it, one link per top-level
entry), so a rewrite swaps one symlink. configMap and secret volumes are always
mounted read-only, as Kubernetes does; others as the volumeMount says.

A missing ConfigMap or Secret that is not ``optional`` stops the pod's containers from
being created: the kubelet's ``MountVolume.SetUp failed for volume ...`` message.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.runtime.cri_runtime.objects import PodObjects, missing_key_message, not_found_message
from node.runtime.cri_runtime.problems import CREATE_CONFIG_ERROR, ContainerProblem

READ_ONLY_KINDS = ("configMap", "secret")
PLUGIN_DIRS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
}
DEFAULT_MODE = 0o644


@dataclass(frozen=True)
class HostVolume:
    name: str
    kind: str
    path: Path
    read_only: bool  # forced by the volume's kind


@dataclass(frozen=True)
class MountSpec:
    container_path: str
    host_path: str
    read_only: bool


def volume_kind(volume: Mapping[str, Any]) -> str:
    for kind in ("emptyDir", "hostPath", "configMap", "secret"):
        if kind in volume:
            return kind
    others = [k for k in volume if k != "name"]
    return others[0] if others else "emptyDir"


def _setup_failed(name: str, why: str) -> ContainerProblem:
    return ContainerProblem(
        CREATE_CONFIG_ERROR, f'MountVolume.SetUp failed for volume "{name}" : {why}'
    )


def write_atomic(target: Path, files: Mapping[str, tuple[bytes, int]]) -> None:
    """Write ``files`` (relative path -> (content, mode)) into ``target`` the kubelet's
    way: a fresh ``..<timestamp>`` dir, ``..data`` swapped to it, top-level links."""
    target.mkdir(parents=True, exist_ok=True)
    stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns() % 10**9}"
    fresh = target / stamp
    fresh.mkdir()
    for rel, (content, mode) in files.items():
        path = fresh / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
    link = target / "..data_tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(stamp)
    old = os.readlink(target / "..data") if (target / "..data").is_symlink() else None
    link.replace(target / "..data")
    tops = {rel.split("/", 1)[0] for rel in files}
    for entry in target.iterdir():
        if not entry.name.startswith("..") and entry.name not in tops:
            entry.unlink()
    for top in tops:
        top_link = target / top
        if not top_link.is_symlink():
            top_link.symlink_to(f"..data/{top}")
    if old and old != stamp:
        shutil.rmtree(target / old, ignore_errors=True)


async def _projected_files(
    volume_name: str, kind: str, source: Mapping[str, Any], objects: PodObjects
) -> dict[str, tuple[bytes, int]] | None:
    """The files of a configMap/secret volume; None when it is optional and absent."""
    name = str(source.get("name") if kind == "configMap" else source.get("secretName") or "")
    obj_kind = "configmap" if kind == "configMap" else "secret"
    data = await (objects.config_map(name) if kind == "configMap" else objects.secret(name))
    optional = bool(source.get("optional"))
    if data is None:
        if optional:
            return {}
        raise _setup_failed(volume_name, not_found_message(obj_kind, name))
    mode = int(source.get("defaultMode") or DEFAULT_MODE)
    items = source.get("items")
    if not items:
        return {key: (value.encode(), mode) for key, value in data.items()}
    files = {}
    for item in items:
        key = str(item.get("key") or "")
        if key not in data:
            if optional:
                continue
            raise _setup_failed(
                volume_name, missing_key_message(obj_kind, objects.namespace, name, key)
            )
        files[str(item.get("path") or key)] = (data[key].encode(), int(item.get("mode") or mode))
    return files


_HOST_PATH_TYPES = {
    "Directory": "is_dir",
    "File": "is_file",
    "Socket": "is_socket",
    "CharDevice": "is_char_device",
    "BlockDevice": "is_block_device",
}


def _host_path(name: str, source: Mapping[str, Any]) -> Path:
    path = Path(str(source.get("path") or ""))
    kind = str(source.get("type") or "")
    if kind == "DirectoryOrCreate":
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
    elif kind == "FileOrCreate":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o644, exist_ok=True)
    elif kind in _HOST_PATH_TYPES and not getattr(path, _HOST_PATH_TYPES[kind])():
        raise _setup_failed(name, f"hostPath type check failed: {path} is not a {kind.lower()}")
    return path


class PodVolumes:
    """The volume directories of one pod."""

    def __init__(self, pod_dir: Path) -> None:
        self.pod_dir = pod_dir

    def volume_dir(self, kind: str, name: str) -> Path:
        return (
            self.pod_dir / "volumes" / PLUGIN_DIRS.get(kind, f"kubernetes.io~{kind.lower()}") / name
        )

    async def setup(self, pod: Mapping[str, Any], objects: PodObjects) -> dict[str, HostVolume]:
        """Create or refresh every volume of the pod; their host paths by volume name."""
        out: dict[str, HostVolume] = {}
        for volume in (pod.get("spec") or {}).get("volumes") or ():
            name = str(volume.get("name") or "")
            kind = volume_kind(volume)
            if kind == "hostPath":
                out[name] = HostVolume(name, kind, _host_path(name, volume["hostPath"]), False)
                continue
            path = self.volume_dir(kind, name)
            if kind in READ_ONLY_KINDS:
                files = await _projected_files(name, kind, volume[kind] or {}, objects)
                write_atomic(path, files or {})
            elif kind == "emptyDir":
                path.mkdir(parents=True, exist_ok=True)
                path.chmod(0o777)
            else:
                raise _setup_failed(name, f"volume type {kind} is not supported by kctl")
            out[name] = HostVolume(name, kind, path, kind in READ_ONLY_KINDS)
        return out

    def remove(self) -> None:
        shutil.rmtree(self.pod_dir, ignore_errors=True)


def container_mounts(
    container: Mapping[str, Any], volumes: Mapping[str, HostVolume]
) -> list[MountSpec]:
    mounts = []
    for mount in container.get("volumeMounts") or ():
        volume = volumes.get(str(mount.get("name") or ""))
        if volume is None:
            raise ContainerProblem(
                CREATE_CONFIG_ERROR, f"cannot find volume {mount.get('name')!r} to mount"
            )
        host = volume.path
        sub = str(mount.get("subPath") or "")
        if sub:
            host = host / sub
            if volume.kind == "emptyDir" and not host.exists():
                host.mkdir(parents=True, exist_ok=True)
        mounts.append(
            MountSpec(
                container_path=str(mount.get("mountPath") or ""),
                host_path=str(host),
                read_only=volume.read_only or bool(mount.get("readOnly")),
            )
        )
    return mounts
