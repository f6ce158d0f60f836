"""The built-in resource types controllers and agents talk about, as constants.

Components that are API clients (the reconciler, node agents) need a
:class:`~kctl.api.kinds.ResourceInfo` to build request paths, but loading the kinds
registry parses every schema in ``schemas/``. These constants carry just the routing
facts (group, version, plural, scope) of the kinds kctl serves, so a client process
starts without reading a schema.
"""

from __future__ import annotations

from kctl.api.kinds import ResourceInfo


def _info(group: str, version: str, kind: str, plural: str, namespaced: bool) -> ResourceInfo:
    return ResourceInfo(
        group=group,
        version=version,
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
    )


PODS = _info("", "v1", "Pod", "pods", True)
NODES = _info("", "v1", "Node", "nodes", False)
SERVICES = _info("", "v1", "Service", "services", True)
ENDPOINTS = _info("", "v1", "Endpoints", "endpoints", True)
NAMESPACES = _info("", "v1", "Namespace", "namespaces", False)
CONFIGMAPS = _info("", "v1", "ConfigMap", "configmaps", True)
SECRETS = _info("", "v1", "Secret", "secrets", True)
SERVICEACCOUNTS = _info("", "v1", "ServiceAccount", "serviceaccounts", True)
EVENTS = _info("", "v1", "Event", "events", True)
LEASES = _info("coordination.k8s.io", "v1", "Lease", "leases", True)
DEPLOYMENTS = _info("apps", "v1", "Deployment", "deployments", True)
REPLICASETS = _info("apps", "v1", "ReplicaSet", "replicasets", True)

BUILT_IN: tuple[ResourceInfo, ...] = (
    PODS,
    NODES,
    SERVICES,
    ENDPOINTS,
    NAMESPACES,
    CONFIGMAPS,
    SECRETS,
    SERVICEACCOUNTS,
    EVENTS,
    LEASES,
    DEPLOYMENTS,
    REPLICASETS,
)


def by_api_version_kind(api_version: str, kind: str) -> ResourceInfo | None:
    """The built-in type an ownerReference or involvedObject names, if any."""
    for info in BUILT_IN:
        if info.api_version == api_version and info.kind == kind:
            return info
    return None
