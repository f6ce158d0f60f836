"""Running one probe and wording its outcome as the kubelet does.

The messages are the kubelet's (they end up in ``Unhealthy`` events and restart
reasons, and users grep for them): ``HTTP probe failed with statuscode: 500``, Go's
``dial tcp 10.244.1.5:8080: connect: connection refused``, ``command "cat /x" timed
out``, an exec probe's combined output.

HTTP, kubelet-style: GET with ``User-Agent: kube-probe/1.32`` and ``Accept: */*`` unless
the probe's headers say otherwise (a ``Host`` header sets the virtual host); HTTPS
without certificate verification; no keep-alive; 200-399 is success; redirects are
followed (at most 10) only to the same host, a redirect elsewhere ends the probe as a
success with a warning.

Safety (these machines): a probe connects only to the pod's IP or to loopback. A probe
whose ``host`` names anything else fails with a clear message instead of connecting.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from node.probes.spec import Exec, HttpGet, ProbeSpec, TcpSocket

USER_AGENT = "kube-probe/1.32"
MAX_REDIRECTS = 10
MAX_BODY = 10 * 1024

# exec(container_id, command, timeout) -> (exit code, stdout, stderr); the node agent
# wires the CRI's ExecSync here. It may raise TimeoutError when the command overran.
ExecFunc = Callable[[str, list[str], float], Awaitable[tuple[int, bytes | str, bytes | str]]]


class Result(enum.Enum):
    SUCCESS = "success"
    WARNING = "warning"  # counts as success; recorded as a ProbeWarning event
    FAILURE = "failure"
    UNKNOWN = "unknown"  # the probe could not run (an error): counts as failure


@dataclass(frozen=True)
class ProbeOutcome:
    result: Result
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.result in (Result.SUCCESS, Result.WARNING)


def _text(data: bytes | str) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def _errno_text(exc: OSError) -> str:
    if exc.errno is not None and exc.errno in errno.errorcode:
        return {
            errno.ECONNREFUSED: "connection refused",
            errno.EHOSTUNREACH: "no route to host",
            errno.ENETUNREACH: "network is unreachable",
            errno.ECONNRESET: "connection reset by peer",
        }.get(exc.errno, exc.strerror or str(exc)).lower()
    return str(exc)


def default_host_allowed(host: str, pod_ip: str) -> bool:
    """Only the pod's own address or loopback (kctl's network-safety rule)."""
    if host == pod_ip or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Prober:
    """Runs probes; one per node agent (stateless apart from its exec function)."""

    def __init__(
        self,
        exec_func: ExecFunc | None = None,
        host_allowed: Callable[[str, str], bool] = default_host_allowed,
    ) -> None:
        self.exec_func = exec_func
        self.host_allowed = host_allowed

    async def probe(self, spec: ProbeSpec, pod_ip: str, container_id: str) -> ProbeOutcome:
        action = spec.action
        if isinstance(action, Exec):
            return await self.exec_probe(action, container_id, spec.timeout)
        host = action.host or pod_ip
        if not host:
            return ProbeOutcome(Result.UNKNOWN, "pod has no IP address yet")
        if not self.host_allowed(host, pod_ip):
            return ProbeOutcome(
                Result.FAILURE,
                f"probe host {host} is neither the pod's IP nor loopback: not probed",
            )
        if isinstance(action, TcpSocket):
            return await tcp_probe(host, action.port, spec.timeout)
        return await http_probe(action, host, spec.timeout, self.host_allowed, pod_ip)

    async def exec_probe(self, action: Exec, container_id: str, timeout: float) -> ProbeOutcome:
        if self.exec_func is None:
            return ProbeOutcome(Result.UNKNOWN, "exec probes are not available on this runtime")
        command = list(action.command)
        try:
            code, stdout, stderr = await asyncio.wait_for(
                self.exec_func(container_id, command, timeout), timeout + 1.0
            )
        except TimeoutError:
            return ProbeOutcome(Result.FAILURE, f'command "{" ".join(command)}" timed out')
        except Exception as exc:  # the runtime's error: the probe could not run
            return ProbeOutcome(Result.UNKNOWN, str(exc) or type(exc).__name__)
        output = _text(stdout) + _text(stderr)
        return ProbeOutcome(Result.SUCCESS if code == 0 else Result.FAILURE, output)


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def tcp_probe(host: str, port: int, timeout: float) -> ProbeOutcome:
    target = _hostport(host, port)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return ProbeOutcome(Result.FAILURE, f"dial tcp {target}: i/o timeout")
    except OSError as exc:
        return ProbeOutcome(Result.FAILURE, f"dial tcp {target}: connect: {_errno_text(exc)}")
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return ProbeOutcome(Result.SUCCESS)


def _headers(action: HttpGet, host: str, port: int) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
    for name, value in action.headers:
        canonical = "-".join(part.capitalize() for part in name.split("-"))
        headers[canonical] = value
    headers.setdefault("Host", _hostport(host, port) if port not in (80, 443) else host)
    return headers


async def http_probe(
    action: HttpGet,
    host: str,
    timeout: float,
    host_allowed: Callable[[str, str], bool] = default_host_allowed,
    pod_ip: str = "",
) -> ProbeOutcome:
    scheme = action.scheme.lower()
    url = f"{scheme}://{_hostport(host, action.port)}{action.path}"
    headers = _headers(action, host, action.port)
    first = url
    try:
        async with httpx.AsyncClient(
            verify=False, timeout=timeout, follow_redirects=False
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                response = await client.get(url, headers=headers)
                body = response.content[:MAX_BODY].decode(errors="replace")
                code = response.status_code
                location = response.headers.get("location")
                if 300 <= code < 400 and location:
                    target = urljoin(url, location)
                    parts = urlsplit(target)
                    same = parts.hostname == urlsplit(first).hostname
                    if same and host_allowed(parts.hostname or "", pod_ip or host):
                        url = target
                        continue
                    return ProbeOutcome(
                        Result.WARNING, f"Probe terminated redirects, Response body: {body}"
                    )
                if 200 <= code < 400:
                    return ProbeOutcome(Result.SUCCESS, body)
                return ProbeOutcome(Result.FAILURE, f"HTTP probe failed with statuscode: {code}")
            return ProbeOutcome(
                Result.FAILURE, f'Get "{url}": stopped after {MAX_REDIRECTS} redirects'
            )
    except httpx.TimeoutException:
        return ProbeOutcome(
            Result.FAILURE,
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
        )
    except httpx.ConnectError as exc:
        cause = exc.__cause__ or exc.__context__
        while cause is not None and not (isinstance(cause, OSError) and cause.errno):
            cause = cause.__cause__ or cause.__context__
        reason = _errno_text(cause) if isinstance(cause, OSError) else str(exc)
        return ProbeOutcome(
            Result.FAILURE,
            f'Get "{url}": dial tcp {_hostport(host, action.port)}: connect: {reason}',
        )
    except httpx.HTTPError as exc:
        return ProbeOutcome(Result.FAILURE, f'Get "{url}": {exc or type(exc).__name__}')
