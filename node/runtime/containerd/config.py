"""containerd's configuration for one node: everything under the node's data dir.

Several containerd instances run side by side on one machine (one per simulated node,
or beside a system containerd), so every address and directory a containerd owns is
per instance: root, state, the gRPC and ttrpc sockets, the opt dir, runc's root, the
CRI stream server (a random loopback port) and the pods' network namespaces. Debug and
metrics listeners are off.

Keys without which nothing runs on these machines (see shared/notes/containerd-cri.md):
``restrict_oom_score_adj`` (runc may not lower oom_score_adj here), a sandbox image
that is already imported (no registry is reachable), CNI binaries in /usr/lib/cni.

Registries: no image may come from outside the machine. ``registry.config_path`` points
at our own hosts directory, which trusts only the loopback registry given with
``--registry`` (over plain http), and routes every other registry to a closed loopback
port through ``_default``. The supervisor adds a second guard: containerd runs with a
dead HTTP(S) proxy for everything but loopback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kctl.images.build import PAUSE_IMAGE
from kctl.images.reference import InvalidReference, check_loopback_registry

CNI_BIN_DIR = "/usr/lib/cni"
# A loopback port nothing listens on: where every registry but ours is sent.
BLACKHOLE = "127.0.0.1:9"


class ConfigError(ValueError):
    pass


def check_registry(registry: str) -> str:
    """``--registry`` must be HOST:PORT on loopback (nothing may be pulled from outside)."""
    try:
        return check_loopback_registry(registry)
    except InvalidReference as exc:
        raise ConfigError(f"--registry: {exc}") from None


@dataclass(frozen=True)
class ContainerdPaths:
    """Where one node's containerd keeps its files, all under ``data_dir``."""

    data_dir: Path

    @property
    def socket(self) -> Path:
        return self.data_dir / "containerd.sock"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "containerd.pid"

    @property
    def base(self) -> Path:
        return self.data_dir / "containerd"

    @property
    def config(self) -> Path:
        return self.base / "config.toml"

    @property
    def log(self) -> Path:
        return self.base / "containerd.log"

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def state(self) -> Path:
        return self.base / "state"

    @property
    def ttrpc_socket(self) -> Path:
        return self.base / "ttrpc.sock"

    @property
    def opt(self) -> Path:
        return self.base / "opt"

    @property
    def runc_root(self) -> Path:
        return self.base / "runc"

    @property
    def hosts_dir(self) -> Path:
        return self.base / "certs.d"

    @property
    def images_dir(self) -> Path:
        return self.base / "images"

    @property
    def cni_conf_dir(self) -> Path:
        return self.data_dir / "cni" / "net.d"


@dataclass(frozen=True)
class ContainerdConfig:
    """The settings that vary between nodes; everything else is fixed below."""

    paths: ContainerdPaths
    sandbox_image: str = PAUSE_IMAGE
    registry: str = ""  # "127.0.0.1:PORT": the only registry pulls may use
    cni_conf_dir: Path | None = None  # default: DATA_DIR/cni/net.d
    cni_bin_dir: str = CNI_BIN_DIR
    snapshotter: str = "overlayfs"
    log_level: str = "info"

    @property
    def effective_cni_conf_dir(self) -> Path:
        return self.cni_conf_dir or self.paths.cni_conf_dir


def _q(value: str | Path) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(str(value))


def render(config: ContainerdConfig) -> str:
    """The config.toml text (version 2)."""
    p = config.paths
    cri = '[plugins."io.containerd.grpc.v1.cri"]'
    runc = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]'
    return "\n".join(
        [
            "# Written by kctl for this node; rewritten on every start.",
            "version = 2",
            f"root = {_q(p.root)}",
            f"state = {_q(p.state)}",
            "",
            "[grpc]",
            f"  address = {_q(p.socket)}",
            "",
            "[ttrpc]",
            f"  address = {_q(p.ttrpc_socket)}",
            "",
            "[debug]",
            '  address = ""',
            f"  level = {_q(config.log_level)}",
            "",
            "[metrics]",
            '  address = ""',
            "",
            '[plugins."io.containerd.internal.v1.opt"]',
            f"  path = {_q(p.opt)}",
            "",
            cri,
            f"  sandbox_image = {_q(config.sandbox_image)}",
            "  restrict_oom_score_adj = true",
            "  disable_tcp_service = true",
            '  stream_server_address = "127.0.0.1"',
            '  stream_server_port = "0"',
            "  netns_mounts_under_state_dir = true",
            "  systemd_cgroup = false",
            "  enable_selinux = false",
            "",
            '[plugins."io.containerd.grpc.v1.cri".containerd]',
            f"  snapshotter = {_q(config.snapshotter)}",
            '  default_runtime_name = "runc"',
            "",
            runc,
            '  runtime_type = "io.containerd.runc.v2"',
            "",
            runc[:-1] + ".options]",
            "  SystemdCgroup = false",
            f"  Root = {_q(p.runc_root)}",
            "",
            '[plugins."io.containerd.grpc.v1.cri".cni]',
            f"  bin_dir = {_q(config.cni_bin_dir)}",
            f"  conf_dir = {_q(config.effective_cni_conf_dir)}",
            "  max_conf_num = 1",
            "",
            '[plugins."io.containerd.grpc.v1.cri".registry]',
            f"  config_path = {_q(p.hosts_dir)}",
            "",
        ]
    )


def hosts_files(config: ContainerdConfig) -> dict[str, str]:
    """``certs.d`` files (relative path -> text): the given loopback registry over plain
    http, and everything else sent to a closed loopback port."""
    files = {
        "_default/hosts.toml": "\n".join(
            [
                "# Every registry not listed beside this file: a closed loopback port.",
                f'server = "http://{BLACKHOLE}"',
                "",
                f'[host."http://{BLACKHOLE}"]',
                '  capabilities = ["pull", "resolve"]',
                "",
            ]
        ),
    }
    if config.registry:
        registry = check_registry(config.registry)
        files[f"{registry}/hosts.toml"] = "\n".join(
            [
                f"# The node's registry (--registry {registry}), plain http on loopback.",
                f'server = "http://{registry}"',
                "",
                f'[host."http://{registry}"]',
                '  capabilities = ["pull", "resolve", "push"]',
                "  skip_verify = true",
                "",
            ]
        )
    return files


def write(config: ContainerdConfig) -> None:
    """Create the node's containerd dirs and write config.toml and the hosts files."""
    p = config.paths
    for directory in (p.base, p.root, p.state, p.opt, p.runc_root, config.effective_cni_conf_dir):
        directory.mkdir(parents=True, exist_ok=True)
    p.config.write_text(render(config))
    if p.hosts_dir.exists():
        import shutil

        shutil.rmtree(p.hosts_dir)
    for rel, text in hosts_files(config).items():
        target = p.hosts_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
