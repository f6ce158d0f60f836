"""Which pod, and which container in it, ``logs`` and ``exec`` mean (kubectl's rules).

* ``POD`` is a pod name; ``TYPE/NAME`` is a pod, or any object with a pod selector
  (Deployment, ReplicaSet, Service...) whose pods are listed and the most interesting
  one taken by kubectl's ``ByLogging`` order: scheduled before unscheduled, Running
  before Unknown before Pending, ready before not ready, ready longer, more restarts,
  older. When none exists yet, wait (``--pod-running-timeout``) for one to appear.
* The container: ``-c`` if given, else the pod's ``kubectl.kubernetes.io/default-
  container`` annotation (when it names a container), else the first container, with
  kubectl's ``Defaulted container "a" out of: a, b`` note on stderr when there was a
  choice.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.cli.session import Session

DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
_PHASE_RANK = {"Running": 0, "Unknown": 1, "Pending": 2}  # others rank as Running, as in Go


def all_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Init containers, then containers, then ephemeral containers (``--all-containers``)."""
    spec = pod.get("spec") or {}
    return [
        *(spec.get("initContainers") or []),
        *(spec.get("containers") or []),
        *(spec.get("ephemeralContainers") or []),
    ]


def container_exists(pod: dict[str, Any], name: str) -> bool:
    return any(c.get("name") == name for c in all_containers(pod))


def default_container(pod: dict[str, Any], *, quiet: bool = False) -> str:
    """The container a command without ``-c`` means."""
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    meta = pod.get("metadata") or {}
    if not containers:
        raise CliError(
            f"pod {meta.get('namespace', '')}/{meta.get('name', '')} does not have any containers"
        )
    wanted = (meta.get("annotations") or {}).get(DEFAULT_CONTAINER)
    if wanted and container_exists(pod, wanted):
        return str(wanted)
    first = str(containers[0].get("name", ""))
    others = spec.get("initContainers") or spec.get("ephemeralContainers")
    if not quiet and (len(containers) > 1 or others):
        names = [str(c.get("name")) for c in containers]
        names += [f"{c.get('name')} (ephem)" for c in spec.get("ephemeralContainers") or []]
        names += [f"{c.get('name')} (init)" for c in spec.get("initContainers") or []]
        print(f'Defaulted container "{first}" out of: {", ".join(names)}', file=sys.stderr)
    return first


def _ready_since(pod: dict[str, Any]) -> str | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            return str(cond.get("lastTransitionTime") or "")
    return None


def _logging_key(pod: dict[str, Any]) -> tuple[Any, ...]:
    status = pod.get("status") or {}
    ready = _ready_since(pod)
    restarts = max(
        (int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or []), default=0
    )
    created = str((pod.get("metadata") or {}).get("creationTimestamp") or "")
    return (
        not (pod.get("spec") or {}).get("nodeName"),
        _PHASE_RANK.get(str(status.get("phase")), 0),
        ready is None,
        ready or "",  # ready for longer first (RFC 3339 strings sort by time)
        -restarts,
        created or "~",  # older first; no timestamp last
    )


def best_pod(pods: list[dict[str, Any]]) -> dict[str, Any]:
    """The pod kubectl would show the logs of (``ByLogging``)."""
    return sorted(pods, key=_logging_key)[0]


def pod_selector(obj: dict[str, Any]) -> str | None:
    """The label selector of an object's pods, as a string, or None if it has none."""
    from kctl.api.selectors import format_label_selector

    selector = (obj.get("spec") or {}).get("selector")
    if not selector:
        return None
    if "matchLabels" in selector or "matchExpressions" in selector:
        return format_label_selector(selector)
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))  # a Service's map


def resolve_pod(
    session: Session, word: str, wait_seconds: float, *, logs_wording: bool = False
) -> dict[str, Any]:
    """``POD`` or ``TYPE/NAME`` -> the pod. ``logs_wording``: kubectl's logs reports a
    missing object as ``error: error from server (NotFound): ... in namespace "x"``."""
    from kctl.api.errors import NotFound

    kind, slash, name = word.partition("/")
    info = session.resolve(kind if slash else "pods")
    name = name if slash else word
    try:
        obj: dict[str, Any] = session.client.get(info, name, session.namespace)
    except NotFound as exc:
        if not logs_wording:
            raise
        raise CliError(
            f'error from server (NotFound): {exc} in namespace "{session.namespace}"'
        ) from None
    if info.resource == "pods":
        return obj
    selector = pod_selector(obj)
    if selector is None:
        raise CliError(f"cannot get the pods of a {info.kind}: it has no pod selector")
    return wait_for_pod(session, selector, wait_seconds)


def wait_for_pod(session: Session, selector: str, seconds: float) -> dict[str, Any]:
    """The best pod matching ``selector``, waiting up to ``seconds`` for one to exist."""
    from kctl.cli.progress import progress
    from kctl.cli.watching import SYNCED, Deadline, follow

    pods_info = session.resolve("pods")
    seen: list[dict[str, Any]] = []
    synced = False
    with progress(sys.stderr) as shown:
        shown.note(f"waiting for a pod matching {selector}")
        events = follow(
            session.client, pods_info, session.namespace, Deadline(seconds), label_selector=selector
        )
        for etype, obj in events:
            if etype == SYNCED:
                synced = True
            elif etype != "DELETED":
                seen.append(obj)
            if synced and seen:  # the listed pods, or the first one to appear after
                return best_pod(seen)
    raise CliError("timed out waiting for the condition")
