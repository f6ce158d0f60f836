"""Who is calling (authentication) and may they do this (authorization).

Both steps follow kube-apiserver so that kubectl and client libraries see familiar
answers:

* Authentication turns the ``Authorization: Bearer <token>`` header into a
  :class:`UserInfo` (name + groups) through the token registry; a missing, malformed or
  unknown token is ``401 Unauthorized`` (kubectl: "You must be logged in to the server").
* Authorization is one pluggable step: anything with ``authorize(user, attrs)`` that
  raises ``Forbidden``. Authorizers are composed with :class:`ChainAuthorizer` (first
  allow wins, the reasons of the rest end up in the message), so RBAC can later be
  appended to the chain without touching the request path.

The built-in authorizers are the two kube-apiserver relies on for its own components:
privileged groups (``system:masters``, and kctl's controller group) may do everything,
and the Node authorizer limits a node's credential to its own Node, its own Lease, the
pods bound to it, and the secrets/configmaps those pods reference, so a compromised
node cannot read or change the rest of the cluster.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from kctl.api.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from kctl.server.tokens import TokenRegistry

MASTERS_GROUP = "system:masters"
CONTROLLERS_GROUP = "system:kctl-controllers"
NODES_GROUP = "system:nodes"
AUTHENTICATED_GROUP = "system:authenticated"
NODE_USER_PREFIX = "system:node:"
NODE_LEASE_NAMESPACE = "kube-node-lease"

READ_VERBS = frozenset({"get", "list", "watch"})


@dataclass(frozen=True, slots=True)
class UserInfo:
    """An authenticated identity. ``groups`` is stored as a tuple (hashable, immutable)."""

    name: str
    groups: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.groups, tuple):
            object.__setattr__(self, "groups", tuple(self.groups))

    def in_group(self, group: str) -> bool:
        return group in self.groups


ADMIN_USER = UserInfo("admin", (MASTERS_GROUP, AUTHENTICATED_GROUP))
RECONCILER_USER = UserInfo("system:kctl-reconciler", (CONTROLLERS_GROUP, AUTHENTICATED_GROUP))


def node_user(node_name: str) -> UserInfo:
    """The identity of a node agent, as the Node authorizer expects it."""
    return UserInfo(NODE_USER_PREFIX + node_name, (NODES_GROUP, AUTHENTICATED_GROUP))


# --- authentication ------------------------------------------------------------------


class TokenAuthenticator:
    """Bearer-token authentication against the :class:`TokenRegistry`."""

    def __init__(self, registry: TokenRegistry) -> None:
        self._registry = registry

    def authenticate(self, authorization_header: str | None) -> UserInfo:
        token = bearer_token(authorization_header)
        user = self._registry.lookup(token) if token else None
        if user is None:
            raise Unauthorized("Unauthorized")
        return user


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


# --- authorization -------------------------------------------------------------------


@dataclass(frozen=True)
class RequestAttributes:
    """What a request wants to do, in kube-apiserver's terms.

    ``resource`` is the plural (``pods``), ``group`` is ``""`` for the core group.
    ``object`` is the decoded request body (create/update; a patch body is not an
    object), ``existing`` the stored object for requests on a named object, when the
    server has it. A non-resource request (``/version``, ``/kctl/v1/tokens``) has an
    empty ``resource`` and its ``path`` set; its verb is the lower-case HTTP method.
    """

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    object: dict[str, Any] | None = None
    existing: dict[str, Any] | None = None
    path: str = ""

    @property
    def is_resource_request(self) -> bool:
        return bool(self.resource)


class Authorizer(Protocol):
    def authorize(self, user: UserInfo, attrs: RequestAttributes) -> None:
        """Return if allowed; raise :class:`Forbidden` otherwise."""
        ...


def forbidden(user: UserInfo, attrs: RequestAttributes, reason: str = "") -> Forbidden:
    """kube-apiserver's 403: ``pods "x" is forbidden: User "u" cannot delete resource
    "pods" in API group "" in the namespace "default"[: reason]``."""
    if not attrs.is_resource_request:
        msg = f'forbidden: User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
        return Forbidden(msg + (f": {reason}" if reason else ""))
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    why = (
        f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}"'
    )
    if attrs.namespace:
        why += f' in the namespace "{attrs.namespace}"'
    else:
        why += " at the cluster scope"
    if reason:
        why += f": {reason}"
    qualified = attrs.resource + (f".{attrs.group}" if attrs.group else "")
    head = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    details: dict[str, Any] = {"group": attrs.group, "kind": attrs.resource}
    if attrs.name:
        details["name"] = attrs.name
    return Forbidden(f"{head} is forbidden: {why}", details)


class RuleAuthorizer(ABC):
    """An authorizer written as a decision: :meth:`deny_reason` returns None to allow,
    or why not (``""`` = no opinion). :class:`ChainAuthorizer` collects the reasons."""

    @abstractmethod
    def deny_reason(self, user: UserInfo, attrs: RequestAttributes) -> str | None: ...

    def authorize(self, user: UserInfo, attrs: RequestAttributes) -> None:
        reason = self.deny_reason(user, attrs)
        if reason is not None:
            raise forbidden(user, attrs, reason)


class ChainAuthorizer(RuleAuthorizer):
    """Ask each authorizer in turn; the first that allows wins, else 403."""

    def __init__(self, authorizers: Iterable[Authorizer]) -> None:
        self.authorizers = list(authorizers)

    def deny_reason(self, user: UserInfo, attrs: RequestAttributes) -> str | None:
        reasons: list[str] = []
        for authorizer in self.authorizers:
            if isinstance(authorizer, RuleAuthorizer):
                reason = authorizer.deny_reason(user, attrs)
                if reason is None:
                    return None
                if reason:
                    reasons.append(reason)
                continue
            try:
                authorizer.authorize(user, attrs)
            except Forbidden:
                continue
            return None
        return "; ".join(reasons)


class AllowPrivileged(RuleAuthorizer):
    """Members of these groups may do everything (cluster admins, kctl's controllers)."""

    def __init__(self, groups: Iterable[str] = (MASTERS_GROUP, CONTROLLERS_GROUP)) -> None:
        self.groups = frozenset(groups)

    def deny_reason(self, user: UserInfo, attrs: RequestAttributes) -> str | None:
        return None if self.groups.intersection(user.groups) else ""


PodsOnNode = Callable[[str], list[dict[str, Any]]]


class NodeAuthorizer(RuleAuthorizer):
    """Kubernetes' Node authorizer idea for users ``system:node:<name>`` in ``system:nodes``.

    A node may read everything except secrets and configmaps, which it may ``get`` only
    when a pod bound to it references them (``pods_on_node(name)`` returns those pods);
    it may write its own Node (and its status), its own Lease in ``kube-node-lease``,
    the status of pods bound to it, delete those pods, and record events.
    """

    def __init__(self, pods_on_node: PodsOnNode) -> None:
        self._pods_on_node = pods_on_node

    def deny_reason(self, user: UserInfo, attrs: RequestAttributes) -> str | None:
        node = node_name_of(user)
        if node is None:
            return ""  # not a node: no opinion
        if not attrs.is_resource_request:
            return None if attrs.verb == "get" else ""
        group, resource, verb = attrs.group, attrs.resource, attrs.verb
        if group == "" and resource in ("secrets", "configmaps"):
            return self._referenced_object(node, attrs)
        if verb in READ_VERBS:
            return None
        if group == "" and resource == "nodes":
            return self._own_node(node, attrs)
        if group == "coordination.k8s.io" and resource == "leases":
            return self._own_lease(node, attrs)
        if group == "" and resource == "pods":
            return self._bound_pod(node, attrs)
        if group in ("", "events.k8s.io") and resource == "events":
            return None if verb in ("create", "update", "patch") else ""
        return ""

    def _referenced_object(self, node: str, attrs: RequestAttributes) -> str | None:
        if attrs.verb != "get" or not attrs.name or attrs.subresource:
            return f"node '{node}' may only get individual {attrs.resource} referenced by its pods"
        kind = "secret" if attrs.resource == "secrets" else "configmap"
        for pod in self._pods_on_node(node):
            meta = pod.get("metadata") or {}
            if meta.get("namespace", "default") != attrs.namespace:
                continue
            if attrs.name in pod_references(pod, kind):
                return None
        return f"no relationship found between node '{node}' and this object"

    @staticmethod
    def _own_node(node: str, attrs: RequestAttributes) -> str | None:
        if attrs.verb not in ("create", "update", "patch"):
            return ""
        if attrs.subresource not in ("", "status"):
            return ""
        name = attrs.name or _name_of(attrs.object)
        if name != node:
            return f"node '{node}' cannot modify node '{name}'"
        return None

    @staticmethod
    def _own_lease(node: str, attrs: RequestAttributes) -> str | None:
        if attrs.verb not in ("create", "update", "patch", "delete") or attrs.subresource:
            return ""
        name = attrs.name or _name_of(attrs.object)
        if attrs.namespace != NODE_LEASE_NAMESPACE or name != node:
            return f"node '{node}' may only modify its own lease in {NODE_LEASE_NAMESPACE}"
        return None

    @staticmethod
    def _bound_pod(node: str, attrs: RequestAttributes) -> str | None:
        status_write = attrs.subresource == "status" and attrs.verb in ("update", "patch")
        delete = attrs.subresource == "" and attrs.verb == "delete"
        if not (status_write or delete):
            return ""
        if attrs.existing is None:
            return f"no relationship found between node '{node}' and this object"
        if _node_name_of_pod(attrs.existing) != node:
            return f"can only modify pods bound to node '{node}'"
        if attrs.object is not None and _node_name_of_pod(attrs.object) not in ("", node):
            return f"node '{node}' cannot move a pod to another node"
        return None


def node_name_of(user: UserInfo) -> str | None:
    """The node name of a node identity, or None if ``user`` is not a node."""
    if not user.name.startswith(NODE_USER_PREFIX) or NODES_GROUP not in user.groups:
        return None
    return user.name[len(NODE_USER_PREFIX) :] or None


def pod_references(pod: dict[str, Any], kind: str) -> set[str]:
    """Names of the secrets (``kind="secret"``) or configmaps a pod references through
    volumes (incl. projected), env, envFrom and, for secrets, imagePullSecrets."""
    spec = pod.get("spec") or {}
    ref_key = "secretRef" if kind == "secret" else "configMapRef"
    key_ref = "secretKeyRef" if kind == "secret" else "configMapKeyRef"
    names: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str) and value:
            names.add(value)

    for volume in spec.get("volumes") or []:
        if kind == "secret":
            add((volume.get("secret") or {}).get("secretName"))
        else:
            add((volume.get("configMap") or {}).get("name"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            add((source.get("secret" if kind == "secret" else "configMap") or {}).get("name"))
    containers = [
        *(spec.get("initContainers") or []),
        *(spec.get("containers") or []),
        *(spec.get("ephemeralContainers") or []),
    ]
    for container in containers:
        for env in container.get("env") or []:
            add(((env.get("valueFrom") or {}).get(key_ref) or {}).get("name"))
        for env_from in container.get("envFrom") or []:
            add((env_from.get(ref_key) or {}).get("name"))
    if kind == "secret":
        for pull in spec.get("imagePullSecrets") or []:
            add(pull.get("name"))
    return names


def _name_of(obj: dict[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("name") or "")


def _node_name_of_pod(pod: dict[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def default_authorizer(pods_on_node: PodsOnNode) -> ChainAuthorizer:
    """The server's chain: privileged groups, then the Node authorizer (RBAC goes last)."""
    return ChainAuthorizer([AllowPrivileged(), NodeAuthorizer(pods_on_node)])
