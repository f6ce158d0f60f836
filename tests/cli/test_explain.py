"""``kctl explain`` side by side with kubectl.

kubectl explain reads the schemas from the server's OpenAPI v3 documents, which kctl's
API server serves without schemas. So kubectl talks to a small proxy in front of the
API server that adds ``components.schemas`` (the same upstream definitions kctl
explains from, converted to OpenAPI v3 the way kube-apiserver shapes them: ``$ref``
beside a description wrapped in ``allOf``, single types); everything else goes to the
real server. Both tools then explain the same schemas, and must print the same text.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from kctl.api import upstream
from kctl.cli.verbs.explain import indent, wrap
from tests.fixtures.apiserver import ApiServerProcess

pytestmark = pytest.mark.kubectl


def _v3(node: Any) -> Any:
    if isinstance(node, list):
        return [_v3(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/components/schemas/")
        elif key == "type" and isinstance(value, list):
            out[key] = next((t for t in value if t != "null"), "object")
        elif key == "properties" and isinstance(value, dict):
            out[key] = {
                name: {
                    k: v
                    for k, v in _v3(prop).items()
                    if not (name in ("apiVersion", "kind") and k == "enum")
                }
                for name, prop in value.items()
            }
        else:
            out[key] = _v3(value)
    if "$ref" in out and len(out) > 1:
        out["allOf"] = [{"$ref": out.pop("$ref")}]
    return out


@pytest.fixture(scope="module")
def openapi_proxy(
    apiserver: ApiServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A kubeconfig for kubectl, pointing at the schema-adding proxy."""
    schemas = {name: _v3(d) for name, d in upstream.definitions(strict=False).items()}
    upstream_client = httpx.Client(
        base_url=apiserver.url,
        verify=ssl.create_default_context(cafile=str(apiserver.ca)),
        headers={"Authorization": f"Bearer {apiserver.token()}"},
    )

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            accept = self.headers.get("Accept", "application/json")
            answer = upstream_client.get(self.path, headers={"Accept": accept})
            body, ctype = answer.content, answer.headers.get("content-type", "application/json")
            if path.startswith("/openapi/v3/") and answer.status_code == 200:
                doc = answer.json()
                doc["components"] = {"schemas": schemas}
                body = json.dumps(doc).encode()
            self.send_response(answer.status_code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path_factory.mktemp("explain") / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: proxy\n"
        f"clusters: [{{name: proxy, cluster: {{server: 'http://127.0.0.1:{server.server_port}'}}}}]\n"
        "contexts: [{name: proxy, context: {cluster: proxy, user: proxy}}]\n"
        "users: [{name: proxy, user: {}}]\n"
    )
    try:
        yield kubeconfig
    finally:
        server.shutdown()
        server.server_close()
        upstream_client.close()


CASES = [
    "deployment",
    "deployment.spec",
    "deployment.spec.replicas",
    "deployment.spec.selector",
    "deployment.metadata",
    "deployment.metadata.creationTimestamp",
    "deployment.spec.strategy.rollingUpdate.maxSurge",
    "deployment --recursive",
    "deployment.spec.strategy --recursive",
    "pod",
    "pod.spec.containers",
    "pod.spec.containers.ports",
    "pod.spec.nodeSelector",
    "pods.spec.containers.resources.limits",
    "pod.status.conditions",
    "pods --recursive",
    "svc.spec.ports",
    "svc --recursive",
    "cm.data",
    "node.status",
    "ev",
    "lease",
    "ns --recursive",
    "endpoints",
    "pod.spec.containers.bogus",
    "deployment.spec.template.metadata.labels.x",
]


@pytest.mark.parametrize("case", CASES)
def test_agrees_with_kubectl(openapi_proxy: Path, kctl, tmp_path: Path, case: str) -> None:
    args = ["explain", *case.split()]
    env = {**os.environ, "KUBECONFIG": str(openapi_proxy), "HOME": str(tmp_path)}
    with ThreadPoolExecutor(2) as pool:
        theirs_f = pool.submit(
            subprocess.run, ["kubectl", *args], capture_output=True, text=True, env=env
        )
        ours_f = pool.submit(kctl, *args, check=False)
        theirs, ours = theirs_f.result(), ours_f.result()
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode,
        theirs.stdout,
        theirs.stderr,
    )


def test_layout(kctl) -> None:
    out = kctl("explain", "deploy.spec.replicas").stdout
    assert out.startswith("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\n")
    assert "FIELD: replicas <integer>\n\n\nDESCRIPTION:\n    Number of desired pods." in out
    core = kctl("explain", "pods").stdout
    assert core.startswith("KIND:       Pod\n") and "  spec\t<PodSpec>\n" in core
    assert "  selector\t<LabelSelector> -required-\n" in kctl("explain", "deploy.spec").stdout
    missing = kctl("explain", "deploy.spec.nope", check=False)
    assert missing.returncode == 1 and missing.stderr == 'error: field "nope" does not exist\n'


def test_wrap_and_indent_follow_go_wordwrap() -> None:
    text = "word " * 20 + "https://example.com/" + "x" * 80 + " end"
    wrapped = wrap(text, 30)
    assert all(len(line) <= 30 for line in wrapped.splitlines() if " " in line)
    assert "https://example.com/" + "x" * 80 in wrapped.splitlines()
    assert wrap("a\n\n  b c", 76) == "a\n\n  b c"
    assert indent("a\n\nb\n") == "    a\n    \n    b\n    "
