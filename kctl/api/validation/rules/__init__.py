"""Semantic rules (layer 3): kube-apiserver's ``pkg/apis/*/validation``, per kind.

Why it exists: the schema says what *types* are allowed; upstream also enforces
grammars (names, labels, ports), cross-field contracts (a Deployment's selector must
match its template) and enums the OpenAPI does not declare, with its own reasons and
messages. Clients and tests compare those messages, so we reproduce them.

Design: every object gets :func:`~.objectmeta.validate_object_meta`; then the rules
listed for its ``(group, kind)`` in :data:`RULES` run. Each rule is a small function
``(errs, obj)`` that reads the object defensively (:mod:`..read`), so a wrong type
already reported by the schema layer never crashes it. Rules are grouped by kind
family, one module each:

- :mod:`.objectmeta`: names, namespaces, labels, annotations, owner references,
  finalizers, label selectors (used by every kind and inside specs);
- :mod:`.network`: ports, protocols, IP addresses (shared by pods and services);
- :mod:`.workloads`: pod specs and templates, Pods, Deployments, ReplicaSets;
- :mod:`.services`: Services and Endpoints;
- :mod:`.config`: ConfigMaps and Secrets;
- :mod:`.other`: Namespaces, Events, Leases, Nodes.

The server applies defaults (:mod:`kctl.api.defaults`) *before* validating, as
kube-apiserver does; some rules (template restartPolicy Always) rely on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kctl.api.validation.fielderrors import Errors
from kctl.api.validation.rules import config, other, services, workloads
from kctl.api.validation.rules.objectmeta import validate_object_meta

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

Rule = Callable[[Errors, dict[str, Any]], None]

# (group, kind) -> rules beyond object metadata.
RULES: dict[tuple[str, str], tuple[Rule, ...]] = {
    ("", "Pod"): (workloads.validate_pod,),
    ("", "Service"): (services.validate_service,),
    ("", "Endpoints"): (services.validate_endpoints,),
    ("", "ConfigMap"): (config.validate_configmap,),
    ("", "Secret"): (config.validate_secret,),
    ("", "Namespace"): (other.validate_namespace,),
    ("", "Event"): (other.validate_event,),
    ("", "Node"): (other.validate_node,),
    ("apps", "Deployment"): (workloads.validate_deployment,),
    ("apps", "ReplicaSet"): (workloads.validate_replicaset,),
    ("coordination.k8s.io", "Lease"): (other.validate_lease,),
}


def validate_semantics(info: ResourceInfo, obj: dict[str, Any], errs: Errors) -> None:
    validate_object_meta(errs, info, obj)
    for rule in RULES.get((info.group, info.kind), ()):
        rule(errs, obj)
