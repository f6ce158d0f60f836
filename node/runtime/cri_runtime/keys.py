"""The labels and annotations kctl puts on CRI sandboxes and containers.

They are the kubelet's own keys (``io.kubernetes.pod.uid``, ``io.kubernetes.container.
restartCount``...), so ``crictl`` output and tools that read them work the same, plus
one of kctl's: the node name, so that several nodes sharing a containerd (``--containerd-
socket``) only ever see their own pods. Everything the runtime needs to find again
after an agent restart is carried here; the runtime keeps no state file of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
NODE = "kctl.dev/node"

# Container annotations.
RESTART_COUNT = "io.kubernetes.container.restartCount"
CONTAINER_HASH = "io.kubernetes.container.hash"
TERMINATION_GRACE = "io.kubernetes.pod.terminationGracePeriod"
IMAGE = "kctl.dev/image"  # the image as the spec names it (CRI reports the resolved id)

RUNTIME_PREFIX = "containerd://"


def pod_labels(node: str, name: str, namespace: str, uid: str) -> dict[str, str]:
    return {POD_NAME: name, POD_NAMESPACE: namespace, POD_UID: uid, NODE: node}


def full_id(container_id: str) -> str:
    """``containerd://<id>``: the form of ``containerStatuses[].containerID``."""
    return container_id if "://" in container_id else RUNTIME_PREFIX + container_id


def bare_id(container_id: str) -> str:
    return container_id.split("://", 1)[1] if "://" in container_id else container_id


def restart_count(annotations: Mapping[str, str]) -> int:
    try:
        return int(annotations.get(RESTART_COUNT, "0"))
    except ValueError:
        return 0
