"""Pod status computation: phases, conditions, container statuses, write-on-change."""

from __future__ import annotations

from typing import Any

import pytest

from node.podstatus import (
    compute_status,
    containers_ready_condition,
    initialized_condition,
    pod_phase,
    ready_condition,
    status_patch,
)
from node.runtime.base import ContainerRuntimeStatus, ContainerState, PodRuntimeStatus

NOW = "2025-01-01T00:00:10Z"
EARLIER = "2025-01-01T00:00:00Z"

RUNNING = ContainerState("running", started_at=EARLIER)
WAITING = ContainerState("waiting", reason="ContainerCreating")


def exited(code: int) -> ContainerState:
    return ContainerState(
        "terminated", exit_code=code, reason="Completed" if code == 0 else "Error"
    )


def ctr(
    name: str, state: ContainerState, ready: bool | None = None, **kw: Any
) -> ContainerRuntimeStatus:
    return ContainerRuntimeStatus(
        name=name,
        state=state,
        image="img",
        image_id="sha256:x",
        container_id=f"hollow://{name}",
        ready=ready,
        **kw,
    )


def pod(
    containers: tuple[str, ...] = ("a",), init: list[dict[str, Any]] | None = None, **spec: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": n, "image": "img"} for n in containers], **spec}
    if init is not None:
        body["initContainers"] = init
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
        "spec": body,
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


def rt(
    *containers: ContainerRuntimeStatus,
    init: tuple[ContainerRuntimeStatus, ...] = (),
    sandbox: bool = True,
) -> PodRuntimeStatus:
    return PodRuntimeStatus(
        uid="u1",
        sandbox_ready=sandbox,
        ips=("10.244.1.5",) if sandbox else (),
        containers=containers,
        init_containers=init,
    )


@pytest.mark.parametrize(
    ("restart", "states", "terminal", "phase"),
    [
        ("Always", [RUNNING], False, "Running"),
        ("Always", [WAITING], False, "Pending"),
        ("Always", [RUNNING, WAITING], False, "Pending"),
        ("Always", [exited(0)], False, "Running"),  # will be restarted
        ("Always", [exited(0)], True, "Succeeded"),  # being deleted, all stopped
        ("Always", [exited(137)], True, "Failed"),
        ("OnFailure", [exited(0)], False, "Succeeded"),
        ("OnFailure", [exited(1)], False, "Running"),
        ("Never", [exited(0), exited(0)], False, "Succeeded"),
        ("Never", [exited(0), exited(2)], False, "Failed"),
        ("Never", [RUNNING, exited(2)], False, "Running"),
    ],
)
def test_phase(restart: str, states: list[ContainerState], terminal: bool, phase: str) -> None:
    names = [f"c{i}" for i in range(len(states))]
    spec = pod(names, restartPolicy=restart)["spec"]
    status = rt(*(ctr(n, s) for n, s in zip(names, states, strict=True)))
    assert pod_phase(spec, status, terminal) == phase


def test_phase_unknown_container_is_pending() -> None:
    assert pod_phase(pod(["a", "b"])["spec"], rt(ctr("a", RUNNING)), False) == "Pending"


@pytest.mark.parametrize(
    ("init_state", "restart", "phase"),
    [
        (RUNNING, "Always", "Pending"),
        (exited(0), "Always", "Running"),
        (exited(1), "Never", "Failed"),
    ],
)
def test_phase_init_containers(init_state: ContainerState, restart: str, phase: str) -> None:
    spec = pod(["a"], init=[{"name": "i", "image": "img"}], restartPolicy=restart)["spec"]
    main = (
        ctr("a", RUNNING)
        if init_state.kind == "terminated" and init_state.exit_code == 0
        else ctr("a", WAITING)
    )
    assert pod_phase(spec, rt(main, init=(ctr("i", init_state),)), False) == phase


@pytest.mark.parametrize(
    ("states", "ready", "phase", "expected"),
    [
        ([RUNNING, RUNNING], [None, None], "Running", ("True", "", "")),
        (
            [RUNNING, RUNNING],
            [None, False],
            "Running",
            ("False", "ContainersNotReady", "containers with unready status: [c1]"),
        ),
        (
            [WAITING, RUNNING],
            [None, False],
            "Pending",
            ("False", "ContainersNotReady", "containers with unready status: [c0 c1]"),
        ),
        ([exited(0), exited(0)], [None, None], "Succeeded", ("False", "PodCompleted", "")),
        (
            [exited(0), exited(1)],
            [None, None],
            "Failed",
            ("False", "ContainersNotReady", "containers with unready status: [c0 c1]"),
        ),
    ],
)
def test_containers_ready(
    states: list[ContainerState],
    ready: list[bool | None],
    phase: str,
    expected: tuple[str, str, str],
) -> None:
    names = [f"c{i}" for i in range(len(states))]
    status = rt(*(ctr(n, s, r) for n, s, r in zip(names, states, ready, strict=True)))
    cond = containers_ready_condition(pod(names)["spec"], status, phase)
    assert (cond["status"], cond.get("reason", ""), cond.get("message", "")) == expected


def test_containers_ready_unknown() -> None:
    cond = containers_ready_condition(pod(["a", "b"])["spec"], rt(ctr("a", RUNNING)), "Pending")
    assert cond["message"] == "containers with unknown status: [b]"


def test_ready_follows_containers_ready_then_gates() -> None:
    spec = pod(
        ["a"],
        readinessGates=[{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}],
    )["spec"]
    not_ready = {
        "type": "ContainersReady",
        "status": "False",
        "reason": "ContainersNotReady",
        "message": "m",
    }
    assert ready_condition(spec, not_ready, []) == {**not_ready, "type": "Ready"}
    ok = {"type": "ContainersReady", "status": "True"}
    cond = ready_condition(spec, ok, [{"type": "example.com/lb", "status": "False"}])
    assert cond["reason"] == "ReadinessGatesNotReady"
    assert cond["message"] == (
        'the status of pod readiness gate "example.com/lb" is not "True", but False, '
        'corresponding condition of pod readiness gate "example.com/dns" does not exist.'
    )
    gates = [
        {"type": "example.com/lb", "status": "True"},
        {"type": "example.com/dns", "status": "True"},
    ]
    assert ready_condition(spec, ok, gates)["status"] == "True"


def test_initialized() -> None:
    spec = pod(["a"], init=[{"name": "i1", "image": "x"}, {"name": "i2", "image": "x"}])["spec"]
    cond = initialized_condition(
        spec, rt(ctr("a", WAITING), init=(ctr("i1", exited(0)), ctr("i2", RUNNING))), "Pending"
    )
    assert cond == {
        "type": "Initialized",
        "status": "False",
        "reason": "ContainersNotInitialized",
        "message": "containers with incomplete status: [i2]",
    }
    done = rt(ctr("a", RUNNING), init=(ctr("i1", exited(0)), ctr("i2", exited(0))))
    assert initialized_condition(spec, done, "Running")["status"] == "True"
    assert initialized_condition(pod(["a"])["spec"], rt(), "Pending")["status"] == "True"


def test_full_status_running() -> None:
    p = pod(["a"])
    status = compute_status(p, rt(ctr("a", RUNNING)), host_ip="127.1.2.3", now=NOW)
    assert status["phase"] == "Running"
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert all(
        c["status"] == "True" and c["lastTransitionTime"] == NOW for c in status["conditions"]
    )
    assert status["hostIP"] == "127.1.2.3" and status["hostIPs"] == [{"ip": "127.1.2.3"}]
    assert status["podIP"] == "10.244.1.5" and status["podIPs"] == [{"ip": "10.244.1.5"}]
    assert status["startTime"] == NOW
    assert status["qosClass"] == "BestEffort"  # not ours: carried over
    assert status["containerStatuses"] == [
        {
            "name": "a",
            "state": {"running": {"startedAt": EARLIER}},
            "lastState": {},
            "ready": True,
            "restartCount": 0,
            "image": "img",
            "imageID": "sha256:x",
            "started": True,
            "containerID": "hollow://a",
        }
    ]


def test_nothing_to_write_when_unchanged_and_times_kept() -> None:
    p = pod(["a"])
    first = compute_status(p, rt(ctr("a", RUNNING)), host_ip="h", now=EARLIER)
    p["status"] = first
    again = compute_status(p, rt(ctr("a", RUNNING)), host_ip="h", now=NOW)
    assert status_patch(p, again) is None
    assert {c["lastTransitionTime"] for c in again["conditions"]} == {EARLIER}
    assert again["startTime"] == EARLIER


def test_patch_carries_only_changes_and_uid() -> None:
    p = pod(["a"])
    p["status"] = compute_status(p, rt(ctr("a", RUNNING)), host_ip="h", now=EARLIER)
    unready = compute_status(p, rt(ctr("a", RUNNING, ready=False)), host_ip="h", now=NOW)
    patch = status_patch(p, unready)
    assert patch is not None
    assert patch["metadata"] == {"uid": "u1"}
    assert set(patch["status"]) == {"conditions", "containerStatuses"}
    by_type = {c["type"]: c for c in patch["status"]["conditions"]}
    assert by_type["Ready"]["status"] == "False" and by_type["Ready"]["lastTransitionTime"] == NOW
    assert by_type["Initialized"]["lastTransitionTime"] == EARLIER
    assert patch["status"]["containerStatuses"][0]["ready"] is False


def test_server_omitting_empty_values_is_not_a_change() -> None:
    p = pod(["a"])
    status = compute_status(p, rt(ctr("a", RUNNING)), host_ip="h", now=EARLIER)
    stored = {
        **status,
        "containerStatuses": [
            {k: v for k, v in status["containerStatuses"][0].items() if k != "lastState"}
        ],
    }
    p["status"] = stored
    assert status_patch(p, compute_status(p, rt(ctr("a", RUNNING)), host_ip="h", now=NOW)) is None


def test_terminal_phase_is_never_left_and_foreign_conditions_kept() -> None:
    p = pod(["a"])
    p["status"] = {
        "phase": "Failed",
        "conditions": [{"type": "DisruptionTarget", "status": "True"}],
    }
    status = compute_status(p, rt(ctr("a", RUNNING)), host_ip="h", now=NOW)
    assert status["phase"] == "Failed"
    assert status["conditions"][-1] == {"type": "DisruptionTarget", "status": "True"}


def test_pod_ips_survive_a_gone_sandbox() -> None:
    p = pod(["a"])
    p["status"] = {"phase": "Running", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}]}
    status = compute_status(
        p, rt(ctr("a", exited(0)), sandbox=False), host_ip="h", now=NOW, terminal=True
    )
    assert status["podIPs"] == [{"ip": "10.244.1.5"}]
    assert status["phase"] == "Succeeded"
    by_type = {c["type"]: c for c in status["conditions"]}
    assert by_type["PodReadyToStartContainers"]["status"] == "False"
    assert by_type["Ready"]["reason"] == "PodCompleted"


def test_missing_container_reported_creating() -> None:
    status = compute_status(pod(["a", "b"]), rt(ctr("a", RUNNING)), host_ip="h", now=NOW)
    b = status["containerStatuses"][1]
    assert b["name"] == "b" and b["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert b["ready"] is False and b["started"] is False and "containerID" not in b


def test_status_patch_replaces_stale_details_under_a_strategic_merge() -> None:
    """As the API server applies it: a condition that lost its reason, and a container
    gone from waiting to running, keep nothing of before."""
    from kctl.api.kinds import default_registry
    from kctl.api.patch import apply_patch
    from node.podstatus import status_patch as make_patch

    pods = default_registry().by_resource("pods")
    assert pods is not None
    before = {
        "metadata": {"name": "p", "uid": "u1"},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized", "message": "waiting"}],
            "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0, "image": "i", "imageID": "",
                                   "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}],
        },
    }
    after_status = {
        "phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}],
        "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "image": "i", "imageID": "sha256:x",
                               "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}, "lastState": {}}],
    }
    patch = make_patch(before, after_status)
    merged = apply_patch("application/strategic-merge-patch+json", before, patch, pods.schema_node())
    assert merged["status"]["conditions"] == [{"type": "Initialized", "status": "True"}]
    container = merged["status"]["containerStatuses"][0]
    assert container["state"] == {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    assert container["lastState"] == {}
