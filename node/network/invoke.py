"""A tiny CNI runtime: run a conflist's plugins for one container (libcni's semantics).

containerd's CRI plugin does this for real pods; kctl runs it itself in tests (a netns
and the node's conflist, no containerd) and for diagnostics ("does this node's network
config work at all?"). What it follows from the CNI spec and libcni:

- ADD runs the plugins in order, each getting the previous plugin's result as
  ``prevResult``; the final result is cached (``<cache>/<network>-<id>-<ifname>``).
- DEL runs them in reverse, each getting the cached result as ``prevResult``. Unlike
  libcni it does not stop at the first failing plugin: the rest still release what
  they hold, and the first error is raised afterwards. DEL of an unknown container is
  not an error (plugins must tolerate it).
- A plugin's ``capabilities`` get the matching runtime arguments under
  ``runtimeConfig`` (``portMappings`` for portmap).
- A failing plugin prints a JSON error (code, msg, details) and exits non-zero: that
  becomes :class:`CniError`.

Synchronous (subprocess): callers on an event loop use ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLUGIN_TIMEOUT_SECONDS = 60.0


class CniError(Exception):
    def __init__(self, plugin: str, command: str, code: int, msg: str, details: str = "") -> None:
        self.plugin, self.command, self.code, self.msg, self.details = (
            plugin,
            command,
            code,
            msg,
            details,
        )
        text = f"CNI {command} {plugin}: {msg}" + (f": {details}" if details else "")
        super().__init__(text)


@dataclass(frozen=True)
class CniRuntime:
    """One attachment: a container's netns and interface."""

    container_id: str
    netns: str  # a path: /var/run/netns/NAME or /proc/PID/ns/net
    ifname: str = "eth0"
    args: dict[str, str] = field(default_factory=dict)  # CNI_ARGS, e.g. K8S_POD_NAME
    capability_args: dict[str, Any] = field(default_factory=dict)  # e.g. portMappings


@dataclass(frozen=True)
class CniInvoker:
    bin_dirs: tuple[Path, ...]
    cache_dir: Path

    def _find(self, plugin: str) -> Path:
        for directory in self.bin_dirs:
            candidate = directory / plugin
            if os.access(candidate, os.X_OK):
                return candidate
        raise CniError(
            plugin,
            "find",
            0,
            f"failed to find plugin {plugin!r} in {[str(d) for d in self.bin_dirs]}",
        )

    def exec_plugin(
        self, command: str, netconf: dict[str, Any], rt: CniRuntime
    ) -> dict[str, Any] | None:
        plugin = str(netconf["type"])
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": rt.container_id,
            "CNI_NETNS": rt.netns,
            "CNI_IFNAME": rt.ifname,
            "CNI_ARGS": ";".join(f"{k}={v}" for k, v in {"IgnoreUnknown": "1", **rt.args}.items()),
            "CNI_PATH": os.pathsep.join(str(d) for d in self.bin_dirs),
        }
        try:
            done = subprocess.run(
                [str(self._find(plugin))],
                input=json.dumps(netconf).encode(),
                env=env,
                capture_output=True,
                timeout=PLUGIN_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            raise CniError(
                plugin, command, 0, f"timed out after {PLUGIN_TIMEOUT_SECONDS:.0f}s"
            ) from None
        if done.returncode != 0:
            try:
                err = json.loads(done.stdout)
                raise CniError(
                    plugin,
                    command,
                    int(err.get("code", 0)),
                    str(err.get("msg", "")),
                    str(err.get("details", "")),
                )
            except (ValueError, AttributeError):
                text = (done.stdout + done.stderr).decode(errors="replace").strip()
                raise CniError(
                    plugin, command, 0, text or f"exit status {done.returncode}"
                ) from None
        if command in ("ADD", "VERSION") and done.stdout.strip():
            out: dict[str, Any] = json.loads(done.stdout)
            return out
        return None

    @staticmethod
    def _netconf(
        conflist: dict[str, Any],
        plugin: dict[str, Any],
        rt: CniRuntime,
        prev: dict[str, Any] | None,
    ) -> dict[str, Any]:
        conf = dict(plugin)
        conf["cniVersion"] = conflist["cniVersion"]
        conf["name"] = conflist["name"]
        runtime_config = {
            cap: rt.capability_args[cap]
            for cap, enabled in (plugin.get("capabilities") or {}).items()
            if enabled and cap in rt.capability_args
        }
        if runtime_config:
            conf["runtimeConfig"] = runtime_config
        if prev is not None:
            conf["prevResult"] = prev
        return conf

    def _cache_path(self, conflist: dict[str, Any], rt: CniRuntime) -> Path:
        return self.cache_dir / f"{conflist['name']}-{rt.container_id}-{rt.ifname}"

    def add(self, conflist: dict[str, Any], rt: CniRuntime) -> dict[str, Any]:
        result: dict[str, Any] | None = None
        for plugin in conflist["plugins"]:
            result = self.exec_plugin("ADD", self._netconf(conflist, plugin, rt, result), rt)
        if result is None:
            raise CniError(conflist["plugins"][-1]["type"], "ADD", 0, "plugin returned no result")
        cache = self._cache_path(conflist, rt)
        cache.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "kind": "cniCacheV1",
            "containerId": rt.container_id,
            "ifName": rt.ifname,
            "networkName": conflist["name"],
            "result": result,
        }
        cache.write_text(json.dumps(record))
        return result

    def cached_result(self, conflist: dict[str, Any], rt: CniRuntime) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = json.loads(self._cache_path(conflist, rt).read_text())[
                "result"
            ]
            return result
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def delete(self, conflist: dict[str, Any], rt: CniRuntime) -> None:
        prev = self.cached_result(conflist, rt)
        first: CniError | None = None
        for plugin in reversed(conflist["plugins"]):
            try:
                self.exec_plugin("DEL", self._netconf(conflist, plugin, rt, prev), rt)
            except CniError as exc:
                first = first or exc
        if first is not None:
            raise first
        self._cache_path(conflist, rt).unlink(missing_ok=True)

    def version(self, plugin: str) -> dict[str, Any]:
        out = self.exec_plugin(
            "VERSION", {"cniVersion": "1.0.0", "type": plugin}, CniRuntime("", "")
        )
        return out or {}


def pod_ip(result: dict[str, Any]) -> str | None:
    """The first IPv4 address of a CNI result (``ips[].address`` is ``a.b.c.d/len``)."""
    for ip in result.get("ips") or []:
        address = str(ip.get("address", ""))
        if address and ":" not in address:
            return address.split("/")[0]
    return None
