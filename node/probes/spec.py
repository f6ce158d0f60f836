"""A probe as the kubelet reads it from a container spec, defaults applied.

Defaults are Kubernetes': initialDelaySeconds 0, periodSeconds 10, timeoutSeconds 1,
successThreshold 1, failureThreshold 3. Liveness and startup probes must have
successThreshold 1 (the API server's validation says so; here it is forced, as a
bad value would otherwise never let the probe succeed). A port given by name is
resolved against the container's ``ports[].name``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class ProbeType(enum.Enum):
    LIVENESS = "Liveness"
    READINESS = "Readiness"
    STARTUP = "Startup"

    @property
    def field(self) -> str:
        return {
            "Liveness": "livenessProbe",
            "Readiness": "readinessProbe",
            "Startup": "startupProbe",
        }[self.value]


class ProbeSpecError(ValueError):
    pass


@dataclass(frozen=True)
class HttpGet:
    port: int
    path: str = "/"
    host: str = ""  # default: the pod IP
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TcpSocket:
    port: int
    host: str = ""


@dataclass(frozen=True)
class Exec:
    command: tuple[str, ...] = ()


Action = HttpGet | TcpSocket | Exec


@dataclass(frozen=True)
class ProbeSpec:
    type: ProbeType
    action: Action
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace_period: float | None = field(default=None, compare=False)


def resolve_port(port: Any, container: dict[str, Any]) -> int:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        number = int(port)
        if not 0 < number < 65536:
            raise ProbeSpecError(f"port {number} out of range")
        return number
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    raise ProbeSpecError(
        f"port {port!r} is not a named port of container {container.get('name')!r}"
    )


def _action(probe: dict[str, Any], container: dict[str, Any]) -> Action:
    if "httpGet" in probe:
        http = probe["httpGet"] or {}
        scheme = str(http.get("scheme") or "HTTP").upper()
        if scheme not in ("HTTP", "HTTPS"):
            raise ProbeSpecError(f"unsupported scheme {scheme!r}")
        path = str(http.get("path") or "/")
        headers = tuple(
            (str(h.get("name", "")), str(h.get("value", ""))) for h in http.get("httpHeaders") or []
        )
        return HttpGet(
            port=resolve_port(http.get("port"), container),
            path=path if path.startswith("/") else "/" + path,
            host=str(http.get("host") or ""),
            scheme=scheme,
            headers=headers,
        )
    if "tcpSocket" in probe:
        tcp = probe["tcpSocket"] or {}
        return TcpSocket(
            port=resolve_port(tcp.get("port"), container), host=str(tcp.get("host") or "")
        )
    if "exec" in probe:
        command = tuple(str(c) for c in (probe["exec"] or {}).get("command") or [])
        if not command:
            raise ProbeSpecError("exec probe without a command")
        return Exec(command)
    if "grpc" in probe:
        raise ProbeSpecError("gRPC probes are not supported")
    raise ProbeSpecError("probe has no handler (httpGet, tcpSocket or exec)")


def _seconds(probe: dict[str, Any], key: str, default: float, minimum: float) -> float:
    value = probe.get(key)
    return max(float(value), minimum) if value is not None else default


def parse_probe(probe_type: ProbeType, container: dict[str, Any]) -> ProbeSpec | None:
    """The container's probe of this type, or None when it has none."""
    probe = container.get(probe_type.field)
    if not probe:
        return None
    success = int(probe.get("successThreshold") or 1)
    if probe_type is not ProbeType.READINESS:
        success = 1
    grace = probe.get("terminationGracePeriodSeconds")
    return ProbeSpec(
        type=probe_type,
        action=_action(probe, container),
        initial_delay=_seconds(probe, "initialDelaySeconds", 0.0, 0.0),
        period=_seconds(probe, "periodSeconds", 10.0, 0.001),
        timeout=_seconds(probe, "timeoutSeconds", 1.0, 0.001),
        success_threshold=max(success, 1),
        failure_threshold=max(int(probe.get("failureThreshold") or 3), 1),
        termination_grace_period=float(grace) if grace is not None else None,
    )
