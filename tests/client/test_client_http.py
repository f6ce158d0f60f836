"""The REST client against a recording stub server: paths, params, headers, bodies,
error mapping, watch parsing, TLS, and the async twin."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

from kctl.api import errors
from kctl.client.http import (
    AsyncClient,
    Client,
    ConnectionFailed,
    parse_watch_line,
    resource_path,
)
from kctl.client.kubeconfig import ClientConfig, config_for
from tests.client.conftest import DEPLOYMENTS, NODES, PODS
from tests.client.stub_server import Reply, StubServer, status_body, watch_lines

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "team"}}


def test_resource_paths() -> None:
    assert resource_path(PODS, "ns", "p") == "/api/v1/namespaces/ns/pods/p"
    assert resource_path(PODS, "ns", "p", "status") == "/api/v1/namespaces/ns/pods/p/status"
    assert resource_path(PODS) == "/api/v1/pods"
    assert resource_path(DEPLOYMENTS, "a") == "/apis/apps/v1/namespaces/a/deployments"
    assert (
        resource_path(DEPLOYMENTS, "a", "d", "scale")
        == "/apis/apps/v1/namespaces/a/deployments/d/scale"
    )
    assert resource_path(NODES, "ignored", "n1") == "/api/v1/nodes/n1"
    with pytest.raises(ValueError):
        resource_path(PODS, "ns", None, "status")


def test_get_sends_auth_and_accept(stub: StubServer, client: Client) -> None:
    stub.on("GET", "/api/v1/namespaces/team/pods/web", Reply(200, POD))
    assert client.get(PODS, "web") == POD  # namespace defaults to the context's
    req = stub.requests[-1]
    assert req.headers["authorization"] == "Bearer s3cret"
    assert req.headers["accept"] == "application/json"
    assert req.headers["user-agent"].startswith("kctl/")
    assert client.namespace == "team"


def test_get_subresource_and_cluster_scoped(stub: StubServer, client: Client) -> None:
    stub.on("GET", "/apis/apps/v1/namespaces/x/deployments/d/scale", Reply(200, {"kind": "Scale"}))
    stub.on("GET", "/api/v1/nodes/n1", Reply(200, {"kind": "Node"}))
    assert client.get(DEPLOYMENTS, "d", "x", subresource="scale") == {"kind": "Scale"}
    assert client.get(NODES, "n1")["kind"] == "Node"


def test_list_params_and_all_namespaces(stub: StubServer, client: Client) -> None:
    body = {"kind": "PodList", "metadata": {"resourceVersion": "7"}, "items": []}
    stub.on("GET", "/api/v1/namespaces/team/pods", Reply(200, body))
    stub.on("GET", "/api/v1/pods", Reply(200, body))
    client.list(
        PODS,
        "team",
        label_selector="app=web",
        field_selector="spec.nodeName=n1",
        resource_version="0",
        limit=500,
        continue_token="abc",
    )
    q = stub.requests[-1].query
    assert q == {
        "labelSelector": ["app=web"],
        "fieldSelector": ["spec.nodeName=n1"],
        "resourceVersion": ["0"],
        "limit": ["500"],
        "continue": ["abc"],
    }
    assert client.list(PODS)["metadata"]["resourceVersion"] == "7"
    assert stub.requests[-1].path == "/api/v1/pods"
    assert stub.requests[-1].query == {}


def test_create_uses_body_namespace_and_write_params(stub: StubServer, client: Client) -> None:
    stub.on("POST", "/api/v1/namespaces/other/pods", Reply(201, POD))
    body = {**POD, "metadata": {"name": "web", "namespace": "other"}}
    client.create(PODS, body, field_manager="kctl", dry_run=True, field_validation="Strict")
    req = stub.requests[-1]
    assert req.json() == body
    assert req.headers["content-type"] == "application/json"
    assert req.query == {"fieldManager": ["kctl"], "dryRun": ["All"], "fieldValidation": ["Strict"]}


def test_create_subresource_binding(stub: StubServer, client: Client) -> None:
    stub.on(
        "POST",
        "/api/v1/namespaces/team/pods/web/binding",
        Reply(201, {"kind": "Status", "status": "Success"}),
    )
    binding = {"kind": "Binding", "target": {"kind": "Node", "name": "n1"}}
    assert (
        client.create(PODS, binding, "team", name="web", subresource="binding")["status"]
        == "Success"
    )


def test_replace_takes_name_from_metadata(stub: StubServer, client: Client) -> None:
    stub.on("PUT", "/api/v1/namespaces/team/pods/web/status", Reply(200, POD))
    client.replace(PODS, POD, subresource="status")
    assert stub.requests[-1].method == "PUT"
    with pytest.raises(ValueError):
        client.replace(PODS, {"metadata": {}})


@pytest.mark.parametrize(
    ("patch_type", "media"),
    [
        ("merge", "application/merge-patch+json"),
        ("strategic", "application/strategic-merge-patch+json"),
        ("json", "application/json-patch+json"),
        ("application/merge-patch+json", "application/merge-patch+json"),
    ],
)
def test_patch_content_types(stub: StubServer, client: Client, patch_type: str, media: str) -> None:
    stub.on("PATCH", "/apis/apps/v1/namespaces/a/deployments/d", Reply(200, {"kind": "Deployment"}))
    patch: Any = (
        [{"op": "replace", "path": "/spec/replicas", "value": 2}]
        if patch_type == "json"
        else {"spec": {"replicas": 2}}
    )
    client.patch(DEPLOYMENTS, "d", patch, "a", patch_type=patch_type)
    req = stub.requests[-1]
    assert req.headers["content-type"] == media
    assert req.json() == patch


def test_server_side_apply(stub: StubServer, client: Client) -> None:
    stub.on("PATCH", "/apis/apps/v1/namespaces/a/deployments/d", Reply(201, {"kind": "Deployment"}))
    client.patch(
        DEPLOYMENTS, "d", {"spec": {}}, "a", patch_type="apply", field_manager="kctl", force=True
    )
    req = stub.requests[-1]
    assert req.headers["content-type"] == "application/apply-patch+yaml"
    assert req.query == {"fieldManager": ["kctl"], "force": ["true"]}
    with pytest.raises(ValueError, match="field_manager"):
        client.patch(DEPLOYMENTS, "d", {}, "a", patch_type="apply")
    with pytest.raises(ValueError, match="unknown patch type"):
        client.patch(DEPLOYMENTS, "d", {}, "a", patch_type="yaml")


def test_delete_with_and_without_options(stub: StubServer, client: Client) -> None:
    ok = {"kind": "Status", "status": "Success", "details": {"name": "web"}}
    stub.on("DELETE", "/api/v1/namespaces/team/pods/web", Reply(200, ok))
    assert client.delete(PODS, "web") == ok
    assert stub.requests[-1].body == b""
    client.delete(
        PODS,
        "web",
        propagation_policy="Foreground",
        grace_period_seconds=0,
        preconditions={"uid": "u1", "resourceVersion": "9"},
        dry_run=True,
    )
    req = stub.requests[-1]
    assert req.json() == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Foreground",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "u1", "resourceVersion": "9"},
    }
    assert req.query == {"dryRun": ["All"]}


def test_delete_collection(stub: StubServer, client: Client) -> None:
    stub.on("DELETE", "/api/v1/namespaces/team/pods", Reply(200, {"kind": "PodList", "items": []}))
    client.delete_collection(
        PODS, "team", label_selector="app=web", propagation_policy="Background"
    )
    req = stub.requests[-1]
    assert req.query == {"labelSelector": ["app=web"]}
    assert req.json()["propagationPolicy"] == "Background"


def test_raw_request_text_and_json(stub: StubServer, client: Client) -> None:
    stub.on("GET", "/version", Reply(200, {"major": "1", "minor": "32"}))
    stub.on(
        "GET",
        "/api/v1/namespaces/team/pods/web/log",
        Reply(200, "line1\nline2\n", {"Content-Type": "text/plain"}),
    )
    assert client.request("GET", "/version")["minor"] == "32"
    assert (
        client.request("GET", "/api/v1/namespaces/team/pods/web/log", params={"tailLines": 2})
        == "line1\nline2\n"
    )
    assert stub.requests[-1].query == {"tailLines": ["2"]}


# --- errors ----------------------------------------------------------------------------------


def test_status_errors_map_to_api_errors(stub: StubServer, client: Client) -> None:
    msg = 'pods "nope" not found'
    stub.on(
        "GET",
        "/api/v1/namespaces/team/pods/nope",
        Reply(404, status_body(404, "NotFound", msg, name="nope", kind="pods")),
    )
    with pytest.raises(errors.NotFound) as nf:
        client.get(PODS, "nope")
    assert str(nf.value) == msg and nf.value.details["name"] == "nope"

    stub.on(
        "POST",
        "/api/v1/namespaces/team/pods",
        Reply(409, status_body(409, "AlreadyExists", 'pods "web" already exists')),
    )
    with pytest.raises(errors.AlreadyExists):
        client.create(PODS, POD)

    cause = {"reason": "FieldValueInvalid", "message": "Invalid value", "field": "spec.replicas"}
    stub.on(
        "PUT",
        "/api/v1/namespaces/team/pods/web",
        Reply(422, status_body(422, "Invalid", "bad", causes=[cause])),
    )
    with pytest.raises(errors.Invalid) as inv:
        client.replace(PODS, POD)
    assert inv.value.details["causes"] == [cause]

    stub.on(
        "PATCH",
        "/api/v1/namespaces/team/pods/web",
        Reply(409, status_body(409, "Conflict", "modified")),
    )
    with pytest.raises(errors.Conflict):
        client.patch(PODS, "web", {})


def test_non_status_bodies_get_kubectl_messages(stub: StubServer, client: Client) -> None:
    stub.on(
        "GET",
        "/api/v1/namespaces/team/pods/a",
        Reply(404, "404 page not found", {"Content-Type": "text/plain"}),
    )
    with pytest.raises(errors.NotFound, match="could not find the requested resource"):
        client.get(PODS, "a")
    stub.on(
        "GET", "/api/v1/namespaces/team/pods/b", Reply(500, "boom", {"Content-Type": "text/plain"})
    )
    with pytest.raises(errors.InternalError, match=r'an error on the server \("boom"\)'):
        client.get(PODS, "b")
    stub.on("GET", "/api/v1/namespaces/team/pods/c", Reply(200, "{not json"))
    with pytest.raises(errors.InternalError, match="invalid JSON"):
        client.get(PODS, "c")


def test_connection_refused_is_connection_failed() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(config_for(f"http://127.0.0.1:{port}"), timeout=2) as c:
        with pytest.raises(ConnectionFailed, match="was refused"):
            c.get(PODS, "x", "ns")
        with pytest.raises(ConnectionFailed):
            list(c.watch(PODS, "ns"))


def test_warning_headers_reach_handler(stub: StubServer) -> None:
    seen: list[str] = []
    stub.on(
        "POST",
        "/api/v1/namespaces/team/pods",
        Reply(201, POD, {"Warning": '299 - "unknown field \\"spec.bogus\\""'}),
    )
    with Client(config_for(stub.url, namespace="team"), on_warning=seen.append) as c:
        c.create(PODS, POD)
    assert seen == ['unknown field "spec.bogus"']


# --- watch -----------------------------------------------------------------------------------


def test_watch_yields_events_until_stream_ends(stub: StubServer, client: Client) -> None:
    pod1 = {"kind": "Pod", "metadata": {"name": "a", "resourceVersion": "11"}}
    lines = watch_lines(
        {"type": "ADDED", "object": pod1},
        {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "12"}}},
    )
    # split one event across chunks and add a blank keep-alive line
    chunks = [lines[0][:10], lines[0][10:], b"\n", lines[1]]
    stub.on("GET", "/api/v1/namespaces/team/pods", Reply(200, chunks=chunks))
    events = list(
        client.watch(
            PODS, "team", resource_version="10", label_selector="app=a", timeout_seconds=30
        )
    )
    assert events == [
        ("ADDED", pod1),
        ("BOOKMARK", {"kind": "Pod", "metadata": {"resourceVersion": "12"}}),
    ]
    q = stub.requests[-1].query
    assert q == {
        "watch": ["true"],
        "resourceVersion": ["10"],
        "labelSelector": ["app=a"],
        "timeoutSeconds": ["30"],
        "allowWatchBookmarks": ["true"],
    }


def test_watch_error_event_410_raises_gone(stub: StubServer, client: Client) -> None:
    gone = status_body(410, "Expired", "too old resource version: 5 (1110)")
    lines = watch_lines(
        {"type": "ADDED", "object": {"kind": "Pod"}}, {"type": "ERROR", "object": gone}
    )
    stub.on("GET", "/api/v1/pods", Reply(200, chunks=lines))
    seen = []
    with pytest.raises(errors.Gone, match="too old"):
        for event in client.watch(PODS, resource_version="5"):
            seen.append(event[0])
    assert seen == ["ADDED"]


def test_watch_http_error_and_early_stop(stub: StubServer, client: Client) -> None:
    stub.on("GET", "/api/v1/namespaces/x/pods", Reply(403, status_body(403, "Forbidden", "nope")))
    with pytest.raises(errors.Forbidden):
        next(iter(client.watch(PODS, "x")))
    many = watch_lines(*({"type": "ADDED", "object": {"n": i}} for i in range(50)))
    stub.on("GET", "/api/v1/namespaces/y/pods", Reply(200, chunks=many))
    stream = client.watch(PODS, "y")
    assert next(stream) == ("ADDED", {"n": 0})
    stream.close()  # releases the connection; the client keeps working
    stub.on("GET", "/api/v1/namespaces/team/pods/web", Reply(200, POD))
    assert client.get(PODS, "web") == POD


def test_parse_watch_line() -> None:
    assert parse_watch_line(b"") is None
    assert parse_watch_line("  ") is None
    assert parse_watch_line(b'{"type":"DELETED","object":{"a":1}}') == ("DELETED", {"a": 1})
    with pytest.raises(errors.InternalError):
        parse_watch_line(b"{oops")
    with pytest.raises(errors.Gone):
        parse_watch_line(b'{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Gone"}}')


# --- async client ------------------------------------------------------------------------------


def test_async_client_same_surface(stub: StubServer) -> None:
    stub.on("GET", "/api/v1/namespaces/team/pods/web", Reply(200, POD))
    stub.on(
        "PATCH",
        "/api/v1/namespaces/team/pods/web",
        Reply(404, status_body(404, "NotFound", "gone")),
    )
    stub.on(
        "GET",
        "/api/v1/namespaces/team/pods",
        Reply(200, chunks=watch_lines({"type": "ADDED", "object": POD})),
    )

    async def main() -> None:
        async with AsyncClient(config_for(stub.url, token="t", namespace="team"), timeout=5) as c:
            assert await c.get(PODS, "web") == POD
            with pytest.raises(errors.NotFound):
                await c.patch(PODS, "web", {"a": 1}, patch_type="strategic")
            events = [e async for e in c.watch(PODS, "team", timeout_seconds=5)]
            assert events == [("ADDED", POD)]

    asyncio.run(main())
    assert stub.requests[0].headers["authorization"] == "Bearer t"
    assert stub.requests[1].headers["content-type"] == "application/strategic-merge-patch+json"


# --- TLS ---------------------------------------------------------------------------------------


def _self_signed(tmp: Path, name: str) -> tuple[bytes, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_path.write_bytes(pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pem, cert_path, key_path


def test_tls_verified_with_kubeconfig_ca(tmp_path: Path) -> None:
    pem, cert, key = _self_signed(tmp_path, "server")
    other_pem, _, _ = _self_signed(tmp_path, "other")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = StubServer(ssl_context=ctx).start()
    try:
        server.on("GET", "/api/v1/nodes/n1", Reply(200, {"kind": "Node"}))
        with Client(ClientConfig(server=server.url, ca_pem=pem, token="t"), timeout=5) as good:
            assert good.get(NODES, "n1") == {"kind": "Node"}
        with Client(ClientConfig(server=server.url, ca_pem=other_pem), timeout=5) as bad:
            with pytest.raises(ConnectionFailed, match="Unable to connect"):
                bad.get(NODES, "n1")
        insecure = ClientConfig(server=server.url, insecure_skip_tls_verify=True)
        with Client(insecure, timeout=5) as skip:
            assert skip.get(NODES, "n1") == {"kind": "Node"}
    finally:
        server.stop()
