"""Tokens, bearer authentication and the authorizers (privileged, Node, chain)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import orjson
import pytest

from kctl.api.errors import BadRequest, Forbidden, Unauthorized
from kctl.server.auth import (
    ADMIN_USER,
    RECONCILER_USER,
    AllowPrivileged,
    ChainAuthorizer,
    NodeAuthorizer,
    RequestAttributes,
    TokenAuthenticator,
    UserInfo,
    default_authorizer,
    forbidden,
    node_user,
    pod_references,
)
from kctl.server.tokens import TOKEN_RESOURCE, TokenRegistry, handle_token_request
from kctl.store import Entry, Key, KeyExists


class FakeStore:
    """The two store methods the registry uses, over a dict."""

    def __init__(self) -> None:
        self.entries: dict[Key, Entry] = {}
        self.gets = 0

    def get(self, key: Key) -> Entry | None:
        self.gets += 1
        return self.entries.get(key)

    async def create(self, key: Key, obj: dict[str, Any]) -> Entry:
        if key in self.entries:
            raise KeyExists(str(key))
        entry = Entry(key=key, revision=len(self.entries) + 1, value=orjson.dumps(obj))
        self.entries[key] = entry
        return entry


def _issue(registry: TokenRegistry, user: str, groups: list[str]) -> str:
    return asyncio.run(registry.issue(user, groups))


# --- tokens --------------------------------------------------------------------------


def test_issue_stores_only_the_hash() -> None:
    store = FakeStore()
    token = _issue(TokenRegistry(store), "admin", ["system:masters"])
    assert len(token) >= 43  # 32 random bytes, urlsafe base64
    (key,) = store.entries
    assert key == Key(TOKEN_RESOURCE, "", hashlib.sha256(token.encode()).hexdigest())
    stored = store.entries[key].object()
    assert stored["user"] == "admin" and stored["groups"] == ["system:masters"]
    assert token.encode() not in store.entries[key].value


def test_tokens_are_unique() -> None:
    registry = TokenRegistry(FakeStore())
    assert len({_issue(registry, "u", []) for _ in range(20)}) == 20


def test_lookup_from_store_then_cache() -> None:
    store = FakeStore()
    token = _issue(TokenRegistry(store), "system:node:n1", ["system:nodes"])
    fresh = TokenRegistry(store)  # another server process on the same store
    assert fresh.lookup(token) == UserInfo("system:node:n1", ("system:nodes",))
    gets = store.gets
    assert fresh.lookup(token) is not None
    assert store.gets == gets  # second lookup served from the cache
    assert fresh.lookup("not-a-token") is None
    assert fresh.lookup("") is None
    assert fresh.lookup("x" * 10_000) is None


def test_issue_rejects_bad_identity() -> None:
    registry = TokenRegistry(FakeStore())
    with pytest.raises(BadRequest):
        _issue(registry, "", [])
    with pytest.raises(BadRequest):
        _issue(registry, "u", ["ok", 3])  # type: ignore[list-item]


# --- authentication ------------------------------------------------------------------


def test_authenticate_good_bad_missing() -> None:
    registry = TokenRegistry(FakeStore())
    token = _issue(registry, ADMIN_USER.name, list(ADMIN_USER.groups))
    authn = TokenAuthenticator(registry)
    assert authn.authenticate(f"Bearer {token}") == ADMIN_USER
    assert authn.authenticate(f"bearer  {token} ") == ADMIN_USER
    for header in (None, "", "Bearer", "Bearer ", f"Basic {token}", "Bearer wrong", f"{token}"):
        with pytest.raises(Unauthorized) as exc:
            authn.authenticate(header)
        assert exc.value.code == 401
        assert exc.value.message == "Unauthorized"
        assert exc.value.to_status()["reason"] == "Unauthorized"


# --- the token endpoint --------------------------------------------------------------


def test_token_request_admin_only() -> None:
    store = FakeStore()
    registry = TokenRegistry(store)
    body = {"user": "system:node:n1", "groups": ["system:nodes", "system:authenticated"]}
    result = asyncio.run(handle_token_request(ADMIN_USER, body, registry))
    assert registry.lookup(result["token"]) == node_user("n1")

    with pytest.raises(Forbidden) as exc:
        asyncio.run(handle_token_request(node_user("n1"), body, registry))
    assert exc.value.message == (
        'forbidden: User "system:node:n1" cannot post path "/kctl/v1/tokens"'
    )
    with pytest.raises(Forbidden):
        asyncio.run(handle_token_request(RECONCILER_USER, body, registry))
    bad_bodies: list[Any] = [{}, {"user": 5}, {"user": "x", "groups": "system:nodes"}, []]
    for bad in bad_bodies:
        with pytest.raises(BadRequest):
            asyncio.run(handle_token_request(ADMIN_USER, bad, registry))
    assert len(store.entries) == 1


# --- authorization -------------------------------------------------------------------


def test_forbidden_message_matches_kube_apiserver() -> None:
    attrs = RequestAttributes(verb="delete", resource="pods", namespace="default", name="x")
    err = forbidden(node_user("n1"), attrs)
    assert err.message == (
        'pods "x" is forbidden: User "system:node:n1" cannot delete resource "pods" '
        'in API group "" in the namespace "default"'
    )
    assert err.code == 403 and err.details == {"group": "", "kind": "pods", "name": "x"}
    cluster = RequestAttributes(verb="list", group="apps", resource="deployments", subresource="")
    assert forbidden(UserInfo("bob"), cluster, "nope").message == (
        'deployments.apps is forbidden: User "bob" cannot list resource "deployments" '
        'in API group "apps" at the cluster scope: nope'
    )
    status = RequestAttributes(verb="patch", resource="nodes", subresource="status", name="n2")
    assert 'cannot patch resource "nodes/status"' in forbidden(UserInfo("u"), status).message


def test_allow_privileged() -> None:
    authz = AllowPrivileged()
    attrs = RequestAttributes(verb="deletecollection", resource="secrets", namespace="kube-system")
    authz.authorize(ADMIN_USER, attrs)
    authz.authorize(RECONCILER_USER, attrs)
    with pytest.raises(Forbidden):
        authz.authorize(node_user("n1"), attrs)
    with pytest.raises(Forbidden):
        authz.authorize(UserInfo("someone", ("system:authenticated",)), attrs)


POD_N1: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "nodeName": "n1",
        "volumes": [
            {"name": "a", "secret": {"secretName": "vol-secret"}},
            {"name": "b", "configMap": {"name": "vol-cm"}},
            {"name": "c", "projected": {"sources": [{"secret": {"name": "proj-secret"}}]}},
        ],
        "containers": [
            {
                "name": "c",
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "env-secret"}}}],
                "envFrom": [{"configMapRef": {"name": "envfrom-cm"}}],
            }
        ],
        "imagePullSecrets": [{"name": "pull"}],
    },
}
POD_N2: dict[str, Any] = {
    "metadata": {"name": "db", "namespace": "default"},
    "spec": {"nodeName": "n2"},
}


def _pods_on_node(node: str) -> list[dict[str, Any]]:
    return [p for p in (POD_N1, POD_N2) if p["spec"]["nodeName"] == node]


def _a(verb: str, resource: str, **kw: Any) -> RequestAttributes:
    return RequestAttributes(verb=verb, resource=resource, **kw)


NODE_CASES: list[tuple[str, RequestAttributes, bool]] = [
    # reads
    ("get pod", _a("get", "pods", namespace="default", name="db"), True),
    ("list pods", _a("list", "pods"), True),
    ("watch services", _a("watch", "services"), True),
    ("get other node", _a("get", "nodes", name="n2"), True),
    ("list deployments", _a("list", "deployments", group="apps"), True),
    ("discovery", RequestAttributes(verb="get", path="/api"), True),
    ("post non-resource", RequestAttributes(verb="post", path="/kctl/v1/tokens"), False),
    # secrets and configmaps: only referenced by its pods, by name
    ("secret via volume", _a("get", "secrets", namespace="default", name="vol-secret"), True),
    ("secret projected", _a("get", "secrets", namespace="default", name="proj-secret"), True),
    ("secret via env", _a("get", "secrets", namespace="default", name="env-secret"), True),
    ("pull secret", _a("get", "secrets", namespace="default", name="pull"), True),
    ("cm via volume", _a("get", "configmaps", namespace="default", name="vol-cm"), True),
    ("cm via envFrom", _a("get", "configmaps", namespace="default", name="envfrom-cm"), True),
    ("unreferenced secret", _a("get", "secrets", namespace="default", name="other"), False),
    ("secret other ns", _a("get", "secrets", namespace="prod", name="vol-secret"), False),
    ("secret name as cm", _a("get", "configmaps", namespace="default", name="vol-secret"), False),
    ("list secrets", _a("list", "secrets", namespace="default"), False),
    ("watch configmaps", _a("watch", "configmaps"), False),
    ("update referenced cm", _a("update", "configmaps", namespace="default", name="vol-cm"), False),
    # its own Node
    ("create own node", _a("create", "nodes", object={"metadata": {"name": "n1"}}), True),
    ("create other node", _a("create", "nodes", object={"metadata": {"name": "n2"}}), False),
    ("update own node", _a("update", "nodes", name="n1"), True),
    ("patch own status", _a("patch", "nodes", name="n1", subresource="status"), True),
    ("patch other status", _a("patch", "nodes", name="n2", subresource="status"), False),
    ("delete other node", _a("delete", "nodes", name="n2"), False),
    # its own Lease
    (
        "update own lease",
        _a("update", "leases", group="coordination.k8s.io", namespace="kube-node-lease", name="n1"),
        True,
    ),
    (
        "create own lease",
        _a(
            "create",
            "leases",
            group="coordination.k8s.io",
            namespace="kube-node-lease",
            object={"metadata": {"name": "n1"}},
        ),
        True,
    ),
    (
        "other lease",
        _a("update", "leases", group="coordination.k8s.io", namespace="kube-node-lease", name="n2"),
        False,
    ),
    (
        "lease elsewhere",
        _a("update", "leases", group="coordination.k8s.io", namespace="default", name="n1"),
        False,
    ),
    # pods bound to it
    (
        "own pod status",
        _a(
            "update", "pods", namespace="default", name="web", subresource="status", existing=POD_N1
        ),
        True,
    ),
    (
        "own pod status patch",
        _a("patch", "pods", namespace="default", name="web", subresource="status", existing=POD_N1),
        True,
    ),
    (
        "delete own pod",
        _a("delete", "pods", namespace="default", name="web", existing=POD_N1),
        True,
    ),
    (
        "delete other pod",
        _a("delete", "pods", namespace="default", name="db", existing=POD_N2),
        False,
    ),
    (
        "other pod status",
        _a("patch", "pods", namespace="default", name="db", subresource="status", existing=POD_N2),
        False,
    ),
    (
        "move pod away",
        _a(
            "update",
            "pods",
            namespace="default",
            name="web",
            subresource="status",
            existing=POD_N1,
            object=POD_N2,
        ),
        False,
    ),
    ("pod not found", _a("delete", "pods", namespace="default", name="gone"), False),
    (
        "update own pod spec",
        _a("update", "pods", namespace="default", name="web", existing=POD_N1),
        False,
    ),
    ("create pod", _a("create", "pods", namespace="default"), False),
    # events
    ("create event", _a("create", "events", namespace="default"), True),
    ("patch event", _a("patch", "events", namespace="default", name="e"), True),
    ("create events.k8s.io", _a("create", "events", group="events.k8s.io", namespace="x"), True),
    ("delete event", _a("delete", "events", namespace="default", name="e"), False),
    # everything else
    ("create deployment", _a("create", "deployments", group="apps", namespace="default"), False),
    ("delete namespace", _a("delete", "namespaces", name="default"), False),
]


@pytest.mark.parametrize(
    ("attrs", "allowed"), [(a, ok) for _, a, ok in NODE_CASES], ids=[c[0] for c in NODE_CASES]
)
def test_node_authorizer(attrs: RequestAttributes, allowed: bool) -> None:
    authz = NodeAuthorizer(_pods_on_node)
    if allowed:
        authz.authorize(node_user("n1"), attrs)
    else:
        with pytest.raises(Forbidden) as exc:
            authz.authorize(node_user("n1"), attrs)
        assert 'User "system:node:n1" cannot' in exc.value.message


def test_node_authorizer_ignores_non_nodes() -> None:
    authz = NodeAuthorizer(_pods_on_node)
    attrs = _a("get", "pods")
    # A user named like a node but without the group is not a node.
    for user in (UserInfo("system:node:n1", ("system:authenticated",)), ADMIN_USER):
        with pytest.raises(Forbidden):
            authz.authorize(user, attrs)


def test_chain_first_allow_wins_and_reasons_are_reported() -> None:
    chain = default_authorizer(_pods_on_node)
    secret = _a("get", "secrets", namespace="default", name="other")
    chain.authorize(ADMIN_USER, secret)
    chain.authorize(RECONCILER_USER, secret)
    with pytest.raises(Forbidden) as exc:
        chain.authorize(node_user("n1"), secret)
    assert exc.value.message == (
        'secrets "other" is forbidden: User "system:node:n1" cannot get resource "secrets" '
        'in API group "" in the namespace "default": no relationship found between node \'n1\' '
        "and this object"
    )
    with pytest.raises(Forbidden) as exc:
        chain.authorize(UserInfo("bob", ("system:authenticated",)), _a("list", "pods"))
    assert exc.value.message.endswith("at the cluster scope")


class _AllowBob:
    """A plain Authorizer (protocol only), as a future RBAC might be."""

    def authorize(self, user: UserInfo, attrs: RequestAttributes) -> None:
        if user.name != "bob":
            raise forbidden(user, attrs)


def test_chain_accepts_protocol_only_authorizers() -> None:
    chain = ChainAuthorizer([AllowPrivileged(), _AllowBob()])
    chain.authorize(UserInfo("bob"), _a("delete", "pods", namespace="x", name="y"))
    chain.authorize(ADMIN_USER, _a("delete", "pods", namespace="x", name="y"))
    with pytest.raises(Forbidden):
        chain.authorize(UserInfo("eve"), _a("delete", "pods", namespace="x", name="y"))
    with pytest.raises(Forbidden):
        ChainAuthorizer([]).authorize(ADMIN_USER, _a("get", "pods"))


def test_pod_references() -> None:
    assert pod_references(POD_N1, "secret") == {"vol-secret", "proj-secret", "env-secret", "pull"}
    assert pod_references(POD_N1, "configmap") == {"vol-cm", "envfrom-cm"}
    assert pod_references({}, "secret") == set()


def test_user_info_groups_are_a_tuple() -> None:
    user = UserInfo("u", ["a", "b"])
    assert user.groups == ("a", "b")
    assert hash(user) == hash(UserInfo("u", ("a", "b")))
