"""A throwaway network for the proxy's kernel tests: a bridge, netns "pods", HTTP servers.

Names carry the ``kctl`` prefix and the test process's pid (bridge ``kctlpt<pid>``,
namespaces ``kctl-ptest-<pid>-<i>``), addresses are in a /24 of 10.201.0.0/16, and every
server is a process this module started and stops by its PID. Traffic goes only to
those namespaces and to loopback; ClusterIPs used with it lie in 10.96.0.0/12 and a
service-CIDR guard (the node network's, under a test chain name) drops anything to
that range that the proxy did not translate, so nothing ever leaves the machine.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from node.network import guard, sysctls

SUBNET = f"10.201.{os.getpid() % 250}"  # concurrent runs do not share a subnet
CIDR = f"{SUBNET}.0/24"
GATEWAY = f"{SUBNET}.1"
SERVICE_CIDR = "10.96.0.0/12"
PORT = 8080
GUARD_CHAIN = f"KCTL-PTEST-GUARD-{os.getpid() % 100000}"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


FETCH = """
import socket, sys
def fetch(ip, port, timeout):
    try:
        with socket.create_connection((ip, port), timeout=timeout) as s:
            s.sendall(b"GET /id HTTP/1.0\\r\\n\\r\\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        return data.split(b"\\r\\n\\r\\n", 1)[-1].decode().strip()
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "timeout"
"""
# Not http.server: its bind looks the address up in DNS, which from a netns would wait
# for a resolver timeout and send a query off the machine.
SERVER = """
import socketserver, sys
ip, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline()
        self.wfile.write(b"HTTP/1.0 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (len(name), name))
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer((ip, port), Handler).serve_forever()
"""
_scope: dict[str, object] = {}
exec(FETCH, _scope)


def fetch(ip: str, port: int, timeout: float = 1.0) -> str:
    """One HTTP GET on a fresh connection: the server's name, "refused" or "timeout"."""
    return str(_scope["fetch"](ip, port, timeout))  # type: ignore[operator]


@dataclass
class Pod:
    name: str  # the netns
    ip: str
    server: subprocess.Popen[bytes] | None = None

    def fetch(self, ip: str, port: int, timeout: float = 1.0) -> str:
        code = FETCH + f"\nprint(fetch({ip!r}, {port}, {timeout}))"
        done = sh("ip", "netns", "exec", self.name, sys.executable, "-c", code)
        return done.stdout.strip()


@dataclass
class Lab:
    bridge: str
    pods: list[Pod]
    tmp: Path
    veths: list[str] = field(default_factory=list)


def _wait_listening(pod: Pod) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((pod.ip, PORT)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"server in {pod.name} did not start")


def _add_pod(lab: Lab, i: int) -> Pod:
    pid = os.getpid()
    pod = Pod(f"kctl-ptest-{pid}-{i}", f"{SUBNET}.{10 + i}")
    host_end, pod_end = f"kctlv{pid % 100000}h{i}", f"kctlv{pid % 100000}p{i}"
    sh("ip", "netns", "add", pod.name)
    lab.pods.append(pod)
    sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", pod_end)
    lab.veths.append(host_end)
    sh("ip", "link", "set", pod_end, "netns", pod.name)
    sh("ip", "link", "set", host_end, "master", lab.bridge, "up")
    sh("ip", "link", "set", host_end, "type", "bridge_slave", "hairpin", "on")
    inside = ("ip", "netns", "exec", pod.name)
    sh(*inside, "ip", "link", "set", "lo", "up")
    sh(*inside, "ip", "link", "set", pod_end, "name", "eth0")
    sh(*inside, "ip", "addr", "add", f"{pod.ip}/24", "dev", "eth0")
    sh(*inside, "ip", "link", "set", "eth0", "up")
    sh(*inside, "ip", "route", "add", "default", "via", GATEWAY)
    pod.server = subprocess.Popen(
        [*inside, sys.executable, "-c", SERVER, pod.ip, str(PORT), pod.name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return pod


@contextlib.contextmanager
def lab(pods: int = 3) -> Iterator[Lab]:
    """The bridge, ``pods`` namespaces with servers, sysctls and the guard; all undone after."""
    tmp = Path(tempfile.mkdtemp(prefix="kctl-ptest-"))
    record = tmp / "sysctls.json"
    bridge = f"kctlpt{os.getpid() % 100000}"
    the_lab = Lab(bridge, [], tmp)
    try:
        sh("ip", "link", "add", bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{GATEWAY}/24", "dev", bridge)
        sh("ip", "link", "set", bridge, "up")
        sysctls.apply(
            {
                "net.ipv4.ip_forward": "1",  # pod -> ClusterIP -> pod is routed by the host
                "net.bridge.bridge-nf-call-iptables": "1",  # ... also within one bridge
                f"net.ipv4.conf.{bridge}.route_localnet": "1",  # NodePort on 127.0.0.1
            },
            record,
        )
        guard.install(GUARD_CHAIN, [SERVICE_CIDR])
        for i in range(pods):
            _add_pod(the_lab, i)
        for pod in the_lab.pods:
            _wait_listening(pod)
        yield the_lab
    finally:
        for pod in the_lab.pods:
            if pod.server is not None:
                pod.server.kill()
                pod.server.wait()
            sh("ip", "netns", "del", pod.name, check=False)
        for veth in the_lab.veths:
            sh("ip", "link", "del", veth, check=False)
        sh("ip", "link", "del", bridge, check=False)
        guard.remove(GUARD_CHAIN)
        sysctls.restore(record)
        for path in sorted(tmp.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        tmp.rmdir()
