"""The pod a ReplicaSet creates from its template (``GetPodFromTemplate``).

The pod gets the template's labels, annotations and finalizers, the template's spec,
the ReplicaSet as its controller (``controller: true``, ``blockOwnerDeletion: true``)
and ``generateName: <rs-name>-``, so the API server picks the name. The body is built
fresh: nothing in it is shared with the cached ReplicaSet.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kctl.api import meta


def pod_name_prefix(owner_name: str) -> str:
    """``<name>-``, or the bare name if the dash would make an invalid pod name."""
    prefix = f"{owner_name}-"
    # generateName is validated with its trailing dash masked
    if not meta.is_dns1123_subdomain(prefix[:-1] + "a"):
        return owner_name
    return prefix


def pod_from_template(owner: Mapping[str, Any]) -> dict[str, Any]:
    """A new Pod body for ``owner`` (a ReplicaSet), ready to POST."""
    md = owner.get("metadata") or {}
    template = (owner.get("spec") or {}).get("template") or {}
    tmd = template.get("metadata") or {}
    pod_md: dict[str, Any] = {
        "generateName": pod_name_prefix(str(md.get("name") or "")),
        "namespace": md.get("namespace"),
        "ownerReferences": [meta.controller_ref(dict(owner))],
    }
    for field in ("labels", "annotations"):
        if tmd.get(field):
            pod_md[field] = dict(tmd[field])
    if tmd.get("finalizers"):
        pod_md["finalizers"] = list(tmd["finalizers"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_md,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
