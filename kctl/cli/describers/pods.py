"""``kubectl describe pod``: identity, placement, status, containers with their
state, conditions, volumes, QoS class, scheduling constraints and events.

Events are searched without the ``Pod`` kind (kubectl leaves it out so events
recorded against a pod's older incarnation or by other reporters still match), and
for a mirror pod by the UID of its static manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kctl.cli.describers import events
from kctl.cli.describers.common import (
    Obj,
    annotations_block,
    controlled_by,
    labels_block,
    meta,
    quantity,
    spec,
    status,
    tolerations_block,
)
from kctl.cli.describers.context import DescribeContext
from kctl.cli.describers.gofmt import rfc1123z, since
from kctl.cli.describers.podspec import (
    containers_block,
    field_resolver,
    resources_block,
    spread_constraints_block,
    volumes_block,
)
from kctl.cli.describers.writer import LEVEL_0, LEVEL_1, PrefixWriter

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"


def describe_pod(ctx: DescribeContext, pod: Obj) -> str:
    md, pod_spec, pod_status = meta(pod), spec(pod), status(pod)
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{md.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{md.get('namespace', '')}\n")
    if pod_spec.get("priority") is not None:
        w.write(LEVEL_0, f"Priority:\t{int(pod_spec['priority'])}\n")
    if pod_spec.get("priorityClassName"):
        w.write(LEVEL_0, f"Priority Class Name:\t{pod_spec['priorityClassName']}\n")
    if pod_spec.get("runtimeClassName"):
        w.write(LEVEL_0, f"Runtime Class Name:\t{pod_spec['runtimeClassName']}\n")
    if pod_spec.get("serviceAccountName"):
        w.write(LEVEL_0, f"Service Account:\t{pod_spec['serviceAccountName']}\n")
    if pod_spec.get("nodeName"):
        w.write(LEVEL_0, f"Node:\t{pod_spec['nodeName']}/{pod_status.get('hostIP', '')}\n")
    else:
        w.write(LEVEL_0, "Node:\t<none>\n")
    if pod_status.get("startTime"):
        w.write(LEVEL_0, f"Start Time:\t{rfc1123z(pod_status['startTime'])}\n")
    labels_block(w, "Labels", md.get("labels"))
    annotations_block(w, "Annotations", md.get("annotations"))
    phase = str(pod_status.get("phase") or "")
    if md.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        w.write(LEVEL_0, f"Status:\tTerminating (lasts {since(md['deletionTimestamp'])})\n")
        grace = int(md.get("deletionGracePeriodSeconds") or 0)
        w.write(LEVEL_0, f"Termination Grace Period:\t{grace}s\n")
    else:
        w.write(LEVEL_0, f"Status:\t{phase}\n")
    if pod_status.get("reason"):
        w.write(LEVEL_0, f"Reason:\t{pod_status['reason']}\n")
    if pod_status.get("message"):
        w.write(LEVEL_0, f"Message:\t{pod_status['message']}\n")
    seccomp = (pod_spec.get("securityContext") or {}).get("seccompProfile")
    if seccomp:
        w.write(LEVEL_0, f"SeccompProfile:\t{seccomp.get('type', '')}\n")
        if seccomp.get("type") == "Localhost":
            w.write(LEVEL_0, f"LocalhostProfile:\t{seccomp.get('localhostProfile', '')}\n")
    w.write(LEVEL_0, f"IP:\t{pod_status.get('podIP', '')}\n")
    ips = pod_status.get("podIPs") or []
    if ips:
        w.write(LEVEL_0, "IPs:\n")
        for ip in ips:
            w.write(LEVEL_1, f"IP:\t{ip.get('ip', '')}\n")
    else:
        w.write(LEVEL_0, "IPs:\t<none>\n")
    if owner := controlled_by(pod):
        w.write(LEVEL_0, f"Controlled By:\t{owner}\n")
    if pod_status.get("nominatedNodeName"):
        w.write(LEVEL_0, f"NominatedNodeName:\t{pod_status['nominatedNodeName']}\n")
    if pod_spec.get("resources") is not None:
        w.write(LEVEL_0, "Resources:\n")
        resources_block(w, pod_spec["resources"], LEVEL_1)

    resolver = field_resolver(pod)
    if pod_spec.get("initContainers"):
        containers_block(
            w,
            "Init Containers",
            pod_spec["initContainers"],
            pod_status.get("initContainerStatuses"),
            resolver,
            "",
        )
    containers_block(
        w,
        "Containers",
        list(pod_spec.get("containers") or []),
        pod_status.get("containerStatuses"),
        resolver,
        "",
    )
    if pod_spec.get("ephemeralContainers"):
        containers_block(
            w,
            "Ephemeral Containers",
            pod_spec["ephemeralContainers"],
            pod_status.get("ephemeralContainerStatuses"),
            resolver,
            "",
        )
    conditions = list(pod_status.get("conditions") or [])
    if pod_spec.get("readinessGates"):
        w.write(LEVEL_0, "Readiness Gates:\n  Type\tStatus\n")
        for gate in pod_spec["readinessGates"]:
            value = next(
                (
                    str(c.get("status", ""))
                    for c in conditions
                    if c.get("type") == gate.get("conditionType")
                ),
                "<none>",
            )
            w.write(LEVEL_1, f"{gate.get('conditionType', '')} \t{value} \n")
    if conditions:
        w.write(LEVEL_0, "Conditions:\n  Type\tStatus\n")
        for cond in conditions:
            w.write(LEVEL_1, f"{cond.get('type', '')} \t{cond.get('status', '')} \n")
    volumes_block(w, pod_spec.get("volumes"), "")
    w.write(LEVEL_0, f"QoS Class:\t{qos_class(pod)}\n")
    labels_block(w, "Node-Selectors", pod_spec.get("nodeSelector"))
    tolerations_block(w, "Tolerations", pod_spec.get("tolerations"))
    spread_constraints_block(w, pod_spec.get("topologySpreadConstraints"), "")
    if ctx.show_events:
        uid = (md.get("annotations") or {}).get(MIRROR_POD_ANNOTATION)
        events.write_events(w, events.search(ctx, pod, None, uid=uid))
    return w.getvalue()


_QOS_RESOURCES = ("cpu", "memory")


def qos_class(pod: Obj) -> str:
    """The pod's QoS class: ``status.qosClass`` when the kubelet reported one, else
    computed from the containers' requests and limits (``ComputePodQOS``)."""
    reported = status(pod).get("qosClass")
    if reported:
        return str(reported)
    pod_spec = spec(pod)
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for container in [*(pod_spec.get("containers") or []), *(pod_spec.get("initContainers") or [])]:
        resources: Mapping[str, Any] = container.get("resources") or {}
        for name, value in (resources.get("requests") or {}).items():
            amount = quantity(value)
            if name in _QOS_RESOURCES and amount.value > 0:
                requests[name] = requests[name] + amount if name in requests else amount
        found = set()
        for name, value in (resources.get("limits") or {}).items():
            amount = quantity(value)
            if name in _QOS_RESOURCES and amount.value > 0:
                found.add(name)
                limits[name] = limits[name] + amount if name in limits else amount
        if not found.issuperset(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(name in limits and limits[name] == req for name, req in requests.items()):
        if len(requests) == len(limits):
            return "Guaranteed"
    return "Burstable"
