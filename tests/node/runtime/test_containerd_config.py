from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from node.runtime.containerd.config import (
    BLACKHOLE,
    ConfigError,
    ContainerdConfig,
    ContainerdPaths,
    hosts_files,
    render,
    write,
)
from node.runtime.containerd.mounts import mounts_under

CRI = "io.containerd.grpc.v1.cri"


def _config(data_dir: str, **kw: str) -> ContainerdConfig:
    return ContainerdConfig(ContainerdPaths(Path(data_dir)), **kw)  # type: ignore[arg-type]


def test_required_keys() -> None:
    doc = tomllib.loads(render(_config("/var/lib/kctl/n1")))
    cri = doc["plugins"][CRI]
    assert doc["version"] == 2
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == "localhost/kctl/pause:1"
    assert cri["cni"] == {
        "bin_dir": "/usr/lib/cni",
        "conf_dir": "/var/lib/kctl/n1/cni/net.d",
        "max_conf_num": 1,
    }
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert cri["stream_server_port"] == "0" and cri["disable_tcp_service"] is True
    assert cri["netns_mounts_under_state_dir"] is True
    assert doc["grpc"]["address"] == "/var/lib/kctl/n1/containerd.sock"
    assert doc["debug"]["address"] == "" and doc["metrics"]["address"] == ""
    assert cri["registry"]["config_path"] == "/var/lib/kctl/n1/containerd/certs.d"


def test_two_nodes_share_no_path() -> None:
    def paths(doc: dict) -> set[str]:  # type: ignore[type-arg]
        cri = doc["plugins"][CRI]
        return {
            doc["root"],
            doc["state"],
            doc["grpc"]["address"],
            doc["ttrpc"]["address"],
            doc["plugins"]["io.containerd.internal.v1.opt"]["path"],
            cri["containerd"]["runtimes"]["runc"]["options"]["Root"],
            cri["cni"]["conf_dir"],
            cri["registry"]["config_path"],
        }

    one = paths(tomllib.loads(render(_config("/d/n1"))))
    two = paths(tomllib.loads(render(_config("/d/n2"))))
    assert len(one) == 8 and not one & two


def test_hosts_only_the_loopback_registry() -> None:
    files = hosts_files(_config("/d", registry="127.0.0.1:5000"))
    default = tomllib.loads(files["_default/hosts.toml"])
    assert default["server"] == f"http://{BLACKHOLE}"
    ours = tomllib.loads(files["127.0.0.1:5000/hosts.toml"])
    assert ours["server"] == "http://127.0.0.1:5000"
    assert set(files) == {"_default/hosts.toml", "127.0.0.1:5000/hosts.toml"}
    assert set(hosts_files(_config("/d"))) == {"_default/hosts.toml"}


def test_remote_registry_refused() -> None:
    with pytest.raises(ConfigError):
        hosts_files(_config("/d", registry="10.1.2.3:5000"))


def test_write_creates_dirs(tmp_path: Path) -> None:
    config = _config(str(tmp_path), registry="localhost:5000")
    write(config)
    assert tomllib.loads(config.paths.config.read_text())["version"] == 2
    assert (config.paths.hosts_dir / "localhost:5000" / "hosts.toml").exists()
    assert config.paths.cni_conf_dir.is_dir()


def test_mounts_under_deepest_first() -> None:
    info = "\n".join(
        [
            "1 0 8:1 / / rw - ext4 /dev/sda1 rw",
            "2 1 0:5 / /data/n1/containerd/state/netns/cni-1 rw - nsfs nsfs rw",
            "3 1 0:6 / /data/n1/containerd/state/x/rootfs rw - overlay overlay rw",
            "4 3 0:7 / /data/n1/containerd/state/x/rootfs/dev rw - tmpfs tmpfs rw",
            r"5 1 0:8 / /data/n1/with\040space rw - tmpfs tmpfs rw",
            "6 1 0:9 / /data/n10/other rw - tmpfs tmpfs rw",
        ]
    )
    found = mounts_under(Path("/data/n1"), info)
    assert found[0] == "/data/n1/containerd/state/x/rootfs/dev"
    assert set(found) == {
        "/data/n1/containerd/state/netns/cni-1",
        "/data/n1/containerd/state/x/rootfs",
        "/data/n1/containerd/state/x/rootfs/dev",
        "/data/n1/with space",
    }
