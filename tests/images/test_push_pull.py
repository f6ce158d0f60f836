"""kctl image busybox/load/push end to end: a loopback docker-registry, a containerd
configured with ``--registry`` for it, pulls through CRI, and ``load --node`` found
through a Node object's annotation on a real API server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kctl.images.archive import MEDIA_MANIFEST
from tests.fixtures.apiserver import ApiServerProcess
from tests.fixtures.cli import Runner
from tests.fixtures.containerd import ContainerdInstance, running_containerd
from tests.fixtures.registry import RegistryProcess

pytestmark = pytest.mark.slow


def kctl_local(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """kctl for commands that need no API server."""
    result = subprocess.run(
        [sys.executable, "-m", "kctl.cli.main", *args], capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kctl {' '.join(args)}: {result.returncode}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def node_containerd(
    registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContainerdInstance]:
    with running_containerd(tmp_path_factory.mktemp("cd-reg"), registry=registry.address) as inst:
        yield inst


@pytest.fixture(scope="module")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("images") / "busybox.tar"
    kctl_local("image", "busybox", "-t", "web:dev", "-o", str(out))
    return out


def test_push_then_pull_through_cri(
    registry: RegistryProcess, node_containerd: ContainerdInstance, busybox_tar: Path
) -> None:
    first = kctl_local("image", "push", str(busybox_tar), "--registry", registry.address)
    assert f"pushed {registry.address}/web:dev sha256:" in first.stdout
    again = kctl_local("image", "push", str(busybox_tar), "--registry", registry.address)
    assert again.stdout == first.stdout  # idempotent: blobs already there are skipped

    resp = httpx.get(
        f"http://{registry.address}/v2/web/manifests/dev",
        headers={"Accept": MEDIA_MANIFEST},
        trust_env=False,
    )
    assert resp.status_code == 200 and json.loads(resp.content)["mediaType"] == MEDIA_MANIFEST

    image = f"{registry.address}/web:dev"

    async def pull() -> None:
        async with node_containerd.cri() as cri:
            assert await cri.image_status(image) is None
            ref = await cri.pull_image(image)
            assert ref.startswith("sha256:")
            status = await cri.image_status(image)
            assert status is not None and status.id == ref

    asyncio.run(pull())


def test_push_refuses_remote_registries(busybox_tar: Path) -> None:
    result = kctl_local(
        "image", "push", str(busybox_tar), "--registry", "192.0.2.1:5000", check=False
    )
    assert result.returncode == 1
    assert "only a registry on loopback" in result.stderr


def test_push_from_containerd_by_name(
    registry: RegistryProcess, node_containerd: ContainerdInstance, tmp_path: Path
) -> None:
    archive = tmp_path / "other.tar"
    kctl_local("image", "busybox", "-t", "kctl.test/other:2", "-o", str(archive))
    kctl_local("image", "load", str(archive), "--containerd-socket", node_containerd.socket)
    out = kctl_local(
        "image",
        "push",
        "kctl.test/other:2",
        "--registry",
        registry.address,
        "--containerd-socket",
        node_containerd.socket,
        "-t",
        "other:2",
    )
    assert f"pushed {registry.address}/other:2" in out.stdout
    resp = httpx.head(
        f"http://{registry.address}/v2/other/manifests/2",
        headers={"Accept": MEDIA_MANIFEST},
        trust_env=False,
    )
    assert resp.status_code == 200


def test_load_needs_exactly_one_target(busybox_tar: Path) -> None:
    result = kctl_local("image", "load", str(busybox_tar), check=False)
    assert result.returncode == 1
    assert "exactly one of --containerd-socket or --node" in result.stderr


def test_load_by_node_name(
    apiserver: ApiServerProcess,
    kctl: Runner,
    node_containerd: ContainerdInstance,
    busybox_tar: Path,
) -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "img-node",
            "annotations": {"kctl.dev/data-dir": str(node_containerd.data_dir)},
        },
    }
    kctl("apply", "-f", "-", input=json.dumps(node))
    try:
        out = kctl("image", "load", str(busybox_tar), "--node", "img-node")
        assert "loaded docker.io/library/web:dev" in out.stdout
        missing = kctl("image", "load", str(busybox_tar), "--node", "nope", check=False)
        assert missing.returncode == 1 and 'node "nope" not found' in missing.stderr
    finally:
        kctl("delete", "node", "img-node", "--ignore-not-found")

    async def present() -> bool:
        async with node_containerd.cri() as cri:
            return await cri.image_status("web:dev") is not None

    assert asyncio.run(present())
