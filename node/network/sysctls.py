"""Kernel settings pod networking needs, set with a record of what they were.

Machine-wide, shared by every node of the machine (set when a node comes up, restored
when the last node of the machine is cleaned up, see :mod:`node.network.machine`):

- ``net.ipv4.ip_forward=1``: pods on one bridge reach pods on another, and the outside;
- ``net.bridge.bridge-nf-call-iptables=1``: traffic between two pods of one bridge
  goes through iptables, so a pod -> ClusterIP -> pod on the same bridge is DNATed and
  answered correctly (needs br_netfilter; loaded with modprobe when missing).

Per bridge: ``net.ipv4.conf.<bridge>.route_localnet=1`` (a NodePort on 127.0.0.1 can
be DNATed to a pod); it goes away with the bridge, so it needs no record.

The record keeps, per key, the value found before the first change and the value set.
Restoring writes the old value back only where the current value is still the one kctl
set: if someone changed it since, theirs stays.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

PROC_SYS = Path("/proc/sys")
MACHINE_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
}


class SysctlError(Exception):
    pass


def path_of(name: str) -> Path:
    return PROC_SYS / name.replace(".", "/")


def bridge_sysctls(bridge: str) -> dict[str, str]:
    # Interface names with dots would need the slash form; kctl's bridges have none.
    return {f"net.ipv4.conf.{bridge}.route_localnet": "1"}


def read(name: str) -> str | None:
    try:
        return path_of(name).read_text().strip()
    except FileNotFoundError:
        return None


def write(name: str, value: str) -> None:
    try:
        path_of(name).write_text(f"{value}\n")
    except OSError as exc:
        raise SysctlError(f"cannot set {name}={value}: {exc}") from exc


def ensure_br_netfilter() -> bool:
    """Make ``net.bridge.*`` exist (load br_netfilter if needed); False if it cannot."""
    if path_of("net.bridge.bridge-nf-call-iptables").exists():
        return True
    modprobe = shutil.which("modprobe")
    if modprobe is None:
        log.warning("net.bridge.* missing and no modprobe to load br_netfilter")
        return False
    done = subprocess.run([modprobe, "br_netfilter"], capture_output=True, text=True)
    if done.returncode != 0:
        log.warning("modprobe br_netfilter failed: %s", done.stderr.strip())
    return path_of("net.bridge.bridge-nf-call-iptables").exists()


def _load(record: Path) -> dict[str, dict[str, str | None]]:
    try:
        data = json.loads(record.read_text())
    except FileNotFoundError:
        return {}
    return {str(k): dict(v) for k, v in data.items()}


def _save(record: Path, data: dict[str, dict[str, str | None]]) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_name(f".{record.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, record)


def apply(values: dict[str, str], record: Path | None = None) -> list[str]:
    """Set ``values``; with a record, remember each key's first-seen previous value.

    Returns the keys that changed. The record is written before any change, so a
    crash in between never loses an original value.
    """
    current = {name: read(name) for name in values}
    missing = [name for name, value in current.items() if value is None]
    if missing:
        raise SysctlError(f"no such sysctl: {', '.join(missing)}")
    if record is not None:
        data = _load(record)
        for name, value in values.items():
            entry = data.setdefault(name, {"previous": current[name]})
            entry["set"] = value
        _save(record, data)
    changed = []
    for name, value in values.items():
        if current[name] != value:
            write(name, value)
            changed.append(name)
            log.info("sysctl %s=%s (was %s)", name, value, current[name])
    return changed


def restore(record: Path) -> list[str]:
    """Put back what :func:`apply` recorded, then forget the record. Returns keys restored."""
    data = _load(record)
    restored = []
    for name, entry in data.items():
        previous, wanted = entry.get("previous"), entry.get("set")
        now = read(name)
        if previous is None or now is None or now == previous:
            continue
        if now != wanted:
            log.info("sysctl %s is %s, not kctl's %s: leaving it", name, now, wanted)
            continue
        write(name, previous)
        restored.append(name)
        log.info("sysctl %s restored to %s", name, previous)
    record.unlink(missing_ok=True)
    return restored
