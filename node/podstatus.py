"""A pod's API status, computed from what the runtime reports, as the kubelet does it.

This is the runtime-independent half of the kubelet's ``generateAPIPodStatus`` and its
status manager: the phase rules (``getPhase``), the five kubelet-owned conditions
(``PodReadyToStartContainers``, ``Initialized``, ``Ready``, ``ContainersReady``,
``PodScheduled``) with upstream's reasons and messages, readiness gates, container
statuses, host and pod IPs, and the status manager's rules for writing: a terminal
phase is never left, a condition keeps its ``lastTransitionTime`` while its status
stays the same, conditions the kubelet does not own (readiness gates, DisruptionTarget)
are kept, and nothing is written when nothing changed.

Everything here is pure: a pod (as cached), a :class:`PodRuntimeStatus`, the node's
host IP and the time go in; a status dict or a patch comes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from node.runtime.base import WAITING_CREATING, ContainerRuntimeStatus, Pod, PodRuntimeStatus

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
TERMINAL_PHASES = (SUCCEEDED, FAILED)

READY_TO_START = "PodReadyToStartContainers"
INITIALIZED = "Initialized"
READY = "Ready"
CONTAINERS_READY = "ContainersReady"
SCHEDULED = "PodScheduled"
# Condition order as a 1.32 kubelet writes them.
KUBELET_CONDITIONS = (READY_TO_START, INITIALIZED, READY, CONTAINERS_READY, SCHEDULED)

# The status fields this agent owns; everything else (qosClass, nominatedNodeName,
# reason/message set by others, resize...) is carried over untouched.
OWNED_FIELDS = (
    "phase",
    "conditions",
    "hostIP",
    "hostIPs",
    "podIP",
    "podIPs",
    "startTime",
    "initContainerStatuses",
    "containerStatuses",
)

UNKNOWN_CONTAINER_STATUSES = "UnknownContainerStatuses"
POD_COMPLETED = "PodCompleted"
CONTAINERS_NOT_READY = "ContainersNotReady"
CONTAINERS_NOT_INITIALIZED = "ContainersNotInitialized"
READINESS_GATES_NOT_READY = "ReadinessGatesNotReady"


def is_sidecar(container: Mapping[str, Any]) -> bool:
    """A restartable init container (``restartPolicy: Always``) runs beside the app."""
    return container.get("restartPolicy") == "Always"


def _go_list(names: Iterable[str]) -> str:
    """A Go ``[]string`` as ``%s`` prints it: ``[a b]``."""
    return "[" + " ".join(names) + "]"


def _statuses_by_name(
    statuses: Iterable[ContainerRuntimeStatus],
) -> dict[str, ContainerRuntimeStatus]:
    return {s.name: s for s in statuses}


def container_ready(status: ContainerRuntimeStatus) -> bool:
    if not status.running:
        return False
    return True if status.ready is None else status.ready


def init_container_ready(status: ContainerRuntimeStatus, sidecar: bool) -> bool:
    if sidecar:
        return container_ready(status)
    return status.terminated and status.state.exit_code == 0


# --- phase ---------------------------------------------------------------------------------


def pod_phase(spec: Mapping[str, Any], runtime: PodRuntimeStatus, terminal: bool) -> str:
    """``getPhase``: the phase the containers' states add up to.

    ``terminal``: the pod is being deleted and its containers have been stopped, so
    Always/OnFailure restart policies no longer keep it Running (kubelet >= 1.27).
    """
    restart_policy = spec.get("restartPolicy") or "Always"
    init = _statuses_by_name(runtime.init_containers)
    pending_init = failed_init = 0
    for ctr in spec.get("initContainers") or ():
        if is_sidecar(ctr):
            continue
        st = init.get(str(ctr.get("name", "")))
        if st is None or st.running:
            pending_init += 1
        elif st.terminated:
            failed_init += st.state.exit_code != 0
        elif st.last_state is not None and st.last_state.kind == "terminated":
            failed_init += st.last_state.exit_code != 0
        else:
            pending_init += 1

    regular = _statuses_by_name(runtime.containers)
    unknown = running = waiting = stopped = succeeded = 0
    for ctr in spec.get("containers") or ():
        st = regular.get(str(ctr.get("name", "")))
        if st is None:
            unknown += 1
        elif st.running:
            running += 1
        elif st.terminated:
            stopped += 1
            succeeded += st.state.exit_code == 0
        elif st.last_state is not None and st.last_state.kind == "terminated":
            stopped += 1
        else:
            waiting += 1

    if failed_init and restart_policy == "Never":
        return FAILED
    if pending_init or waiting:
        return PENDING
    if running and not unknown:
        return RUNNING
    if not running and stopped and not unknown:
        if terminal or restart_policy != "Always":
            if stopped == succeeded:
                return SUCCEEDED
            if terminal or restart_policy == "Never":
                return FAILED
        return RUNNING
    return PENDING


# --- conditions ---------------------------------------------------------------------------


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    cond: dict[str, Any] = {"type": kind, "status": "True" if ok else "False"}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _unready_message(unknown: list[str], unready: list[str], what: str) -> str:
    parts = []
    if unknown:
        parts.append(f"containers with unknown status: {_go_list(unknown)}")
    if unready:
        parts.append(f"containers with {what} status: {_go_list(unready)}")
    return ", ".join(parts)


def initialized_condition(
    spec: Mapping[str, Any], runtime: PodRuntimeStatus, phase: str
) -> dict[str, Any]:
    init_specs = spec.get("initContainers") or ()
    if not init_specs:
        return _condition(INITIALIZED, True)
    init = _statuses_by_name(runtime.init_containers)
    unknown: list[str] = []
    incomplete: list[str] = []
    for ctr in init_specs:
        name = str(ctr.get("name", ""))
        st = init.get(name)
        if st is None:
            unknown.append(name)
        elif is_sidecar(ctr):
            if not st.running and not st.terminated:
                incomplete.append(name)
        elif not init_container_ready(st, False):
            incomplete.append(name)
    if phase == SUCCEEDED and not unknown:
        return _condition(INITIALIZED, True, POD_COMPLETED)
    if any(c.running or c.terminated or c.restart_count for c in runtime.containers):
        return _condition(INITIALIZED, True)  # a regular container started: initialized once
    message = _unready_message(unknown, incomplete, "incomplete")
    if message:
        return _condition(INITIALIZED, False, CONTAINERS_NOT_INITIALIZED, message)
    return _condition(INITIALIZED, True)


def containers_ready_condition(
    spec: Mapping[str, Any], runtime: PodRuntimeStatus, phase: str
) -> dict[str, Any]:
    regular = _statuses_by_name(runtime.containers)
    init = _statuses_by_name(runtime.init_containers)
    unknown: list[str] = []
    unready: list[str] = []
    for ctr in spec.get("initContainers") or ():
        if is_sidecar(ctr):
            name = str(ctr.get("name", ""))
            st = init.get(name)
            if st is None:
                unknown.append(name)
            elif not container_ready(st):
                unready.append(name)
    for ctr in spec.get("containers") or ():
        name = str(ctr.get("name", ""))
        st = regular.get(name)
        if st is None:
            unknown.append(name)
        elif not container_ready(st):
            unready.append(name)
    if phase == SUCCEEDED and not unknown:
        return _condition(CONTAINERS_READY, False, POD_COMPLETED)
    message = _unready_message(unknown, unready, "unready")
    if message:
        return _condition(CONTAINERS_READY, False, CONTAINERS_NOT_READY, message)
    return _condition(CONTAINERS_READY, True)


def ready_condition(
    spec: Mapping[str, Any],
    containers_ready: Mapping[str, Any],
    conditions: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    if containers_ready["status"] != "True":
        return {**containers_ready, "type": READY}
    by_type = {c.get("type"): c for c in conditions}
    messages = []
    for gate in spec.get("readinessGates") or ():
        kind = str(gate.get("conditionType", ""))
        cond = by_type.get(kind)
        if cond is None:
            messages.append(
                f"corresponding condition of pod readiness gate {_go_quote(kind)} does not exist."
            )
        elif cond.get("status") != "True":
            messages.append(
                f'the status of pod readiness gate {_go_quote(kind)} is not "True", but {cond.get("status")}'
            )
    if messages:
        return _condition(READY, False, READINESS_GATES_NOT_READY, ", ".join(messages))
    return _condition(READY, True)


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _with_transition_times(
    fresh: list[dict[str, Any]], old: Iterable[Mapping[str, Any]], now: str
) -> list[dict[str, Any]]:
    """Keep ``lastTransitionTime`` of a condition whose status did not change."""
    previous = {c.get("type"): c for c in old}
    out = []
    for cond in fresh:
        before = previous.get(cond["type"])
        if (
            before is not None
            and before.get("status") == cond["status"]
            and before.get("lastTransitionTime")
        ):
            cond["lastTransitionTime"] = before["lastTransitionTime"]
        else:
            cond["lastTransitionTime"] = now
        out.append(cond)
    return out


# --- container statuses ------------------------------------------------------------------------


def container_status_api(status: ContainerRuntimeStatus, ready: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": status.name,
        "state": status.state.to_api(),
        "lastState": status.last_state.to_api() if status.last_state is not None else {},
        "ready": ready,
        "restartCount": status.restart_count,
        "image": status.image,
        "imageID": status.image_id,
        "started": status.running,
    }
    if status.container_id:
        body["containerID"] = status.container_id
    return body


def _container_statuses(
    specs: Iterable[Mapping[str, Any]], reported: Iterable[ContainerRuntimeStatus], init: bool
) -> list[dict[str, Any]]:
    """One status per container of the spec, in spec order (unknown ones: creating)."""
    by_name = _statuses_by_name(reported)
    out = []
    for ctr in specs:
        name = str(ctr.get("name", ""))
        st = by_name.get(name) or ContainerRuntimeStatus(
            name=name, state=WAITING_CREATING, image=str(ctr.get("image", ""))
        )
        ready = init_container_ready(st, is_sidecar(ctr)) if init else container_ready(st)
        out.append(container_status_api(st, ready))
    return out


# --- the whole status -------------------------------------------------------------------------


def compute_status(
    pod: Pod, runtime: PodRuntimeStatus, *, host_ip: str, now: str, terminal: bool = False
) -> dict[str, Any]:
    """The pod's status as the kubelet would write it now."""
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    status = dict(old)

    phase = pod_phase(spec, runtime, terminal)
    if old.get("phase") in TERMINAL_PHASES:
        phase = old["phase"]  # a terminal phase is never left
    status["phase"] = phase

    old_conditions = list(old.get("conditions") or ())
    foreign = [c for c in old_conditions if c.get("type") not in KUBELET_CONDITIONS]
    containers_ready = containers_ready_condition(spec, runtime, phase)
    fresh = [
        _condition(READY_TO_START, runtime.sandbox_ready and bool(runtime.ips)),
        initialized_condition(spec, runtime, phase),
        ready_condition(spec, containers_ready, foreign),
        containers_ready,
        _condition(SCHEDULED, True),
    ]
    status["conditions"] = _with_transition_times(fresh, old_conditions, now) + foreign

    if host_ip:
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
    ips = list(runtime.ips) or [str(p.get("ip")) for p in old.get("podIPs") or () if p.get("ip")]
    if ips:
        status["podIP"] = ips[0]
        status["podIPs"] = [{"ip": ip} for ip in ips]
    status["startTime"] = old.get("startTime") or now

    init_specs = spec.get("initContainers") or ()
    if init_specs:
        status["initContainerStatuses"] = _container_statuses(
            init_specs, runtime.init_containers, True
        )
    else:
        status.pop("initContainerStatuses", None)
    status["containerStatuses"] = _container_statuses(
        spec.get("containers") or (), runtime.containers, False
    )
    return status


def _normalized(value: Any) -> Any:
    """``value`` with empty objects, nulls and empty lists dropped, for comparing what we
    would write with what the server stored (which may omit empty values)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            norm = _normalized(item)
            if norm is None or norm == {} or norm == []:
                continue
            out[key] = norm
        return out
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    return value


# Keys a strategic merge would otherwise keep from the old element when the new one
# lacks them: sent as null, as a two-way merge patch (the kubelet's) would.
CONDITION_OPTIONAL = ("reason", "message", "lastProbeTime")
STATE_KINDS = ("waiting", "running", "terminated")
STATE_OPTIONAL = ("reason", "message", "startedAt", "finishedAt", "exitCode", "signal", "containerID")


def _with_nulls(item: Mapping[str, Any], optional: Iterable[str]) -> dict[str, Any]:
    return {**{key: None for key in optional}, **item}


def _state_with_nulls(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"running": {...}}`` -> the other kinds nulled, absent details nulled."""
    state = state or {}
    return {
        kind: _with_nulls(state[kind], STATE_OPTIONAL) if state.get(kind) is not None else None
        for kind in STATE_KINDS
    }


def _explicit(key: str, value: Any) -> Any:
    """``value`` of status field ``key`` with the nulls that make a strategic merge
    replace, not blend, what a list element held before (stale reasons, a ``waiting``
    left beside a new ``running``)."""
    if not isinstance(value, list):
        return value
    if key == "conditions":
        return [_with_nulls(c, CONDITION_OPTIONAL) for c in value]
    if key in ("containerStatuses", "initContainerStatuses"):
        return [
            {**c, "state": _state_with_nulls(c.get("state")), "lastState": _state_with_nulls(c.get("lastState"))}
            for c in value
        ]
    return value


def status_patch(pod: Pod, new_status: Mapping[str, Any]) -> dict[str, Any] | None:
    """The strategic-merge patch for the ``status`` subresource that takes the pod's
    current status to ``new_status``, or None when they already agree.

    Only the owned fields that changed are sent; ``metadata.uid`` makes the server
    refuse the patch if the name now belongs to another pod (as the kubelet does).
    """
    old = pod.get("status") or {}
    changed: dict[str, Any] = {}
    for key in OWNED_FIELDS:
        before, after = old.get(key), new_status.get(key)
        if _normalized(before) == _normalized(after):
            continue
        changed[key] = _explicit(key, after)  # None deletes the field
    if not changed:
        return None
    uid = (pod.get("metadata") or {}).get("uid")
    return {"metadata": {"uid": uid}, "status": changed}
