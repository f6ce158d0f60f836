"""Server-side printing: ``meta.k8s.io/v1`` Tables, as kube-apiserver 1.32 builds them.

kubectl asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` on every
``get`` and prints whatever columns the server returns; without a Table it can only
show ``NAME AGE``. So the per-kind columns users know (``READY 1/2``, ``STATUS
CrashLoopBackOff``, ``RESTARTS 3 (5m ago)``, ``PORT(S) 80/TCP``) are computed here, on
the server, following ``pkg/printers/internalversion/printers.go`` rule for rule.

Like kube-apiserver's ``TableConvertor``, rows are always generated "wide": every
column is present and ``priority: 1`` marks the ones kubectl shows only with
``-o wide``. Cell types follow the Go printers (``int64`` cells become JSON integers,
even where the column is declared ``string``), because kubectl's ``--sort-by`` and
column alignment see the same values as against a real cluster.

Each kind is a :class:`Printer` (column definitions + a row function) in a registry
keyed by the store's resource name (``pods``, ``deployments.apps``); kinds without one
get ``NAME AGE``. Other modules may :func:`register` printers for their own kinds.
Column descriptions are short static texts: kubectl never shows them.

A built-in printer computes a row *template* (:func:`template_printer`): the cells, with
those that depend on the time of the request (``AGE``, ``RESTARTS 3 (5m ago)``, events'
``LAST SEEN``) left as :class:`Since` markers. The server caches the encoded template of
each object revision and renders only the markers per request
(:mod:`kctl.api.table_rows`); :func:`table_for` renders them at once. Rows' metadata
(``includeObject=Metadata``) leaves out ``managedFields``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from kctl.api.duration import human_duration_ns, parse_timestamp

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

Obj = Mapping[str, Any]
Cell = str | int | bool
RowFn = Callable[[Obj, datetime], list[Cell]]


class Since(NamedTuple):
    """A cell that depends on the time of the request: the human age of a timestamp
    (``translateTimestampSince``), between ``prefix`` and ``suffix`` (``3 (`` ... `` ago)``).

    Row templates hold these instead of finished strings, so a row can be computed once
    per object revision and rendered for each request's ``now`` (:mod:`kctl.api.table_rows`).
    ``at_us`` is the timestamp in whole microseconds since the epoch, ``None`` when the
    object has none (rendered ``<unknown>``)."""

    at_us: int | None
    prefix: str = ""
    suffix: str = ""

    def render(self, now_us: int) -> str:
        return self.prefix + age_text(self.at_us, now_us) + self.suffix


TemplateCell = Cell | Since
CellsFn = Callable[[Obj], list[TemplateCell]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_us(when: datetime) -> int:
    """``when`` in whole microseconds since the epoch (exact: datetimes are microsecond
    precise, so differences of these are the differences of the datetimes)."""
    return (when - _EPOCH) // _MICROSECOND


def since(timestamp: str | None, prefix: str = "", suffix: str = "") -> Since:
    """A :class:`Since` cell for an RFC 3339 timestamp (``<unknown>`` when unset or
    unparsable, as :func:`kctl.api.duration.age`)."""
    if not timestamp:
        return Since(None, prefix, suffix)
    try:
        then = parse_timestamp(timestamp)
    except ValueError:
        return Since(None, prefix, suffix)
    return Since(epoch_us(then), prefix, suffix)


def age_text(at_us: int | None, now_us: int) -> str:
    """:func:`kctl.api.duration.age` on epoch microseconds."""
    if at_us is None:
        return "<unknown>"
    return human_duration_ns((now_us - at_us) * 1000)


def render_cells(template: Sequence[TemplateCell], now: datetime) -> list[Cell]:
    """A row template's cells as of ``now``."""
    now_us = epoch_us(now)
    return [c.render(now_us) if isinstance(c, Since) else c for c in template]


INCLUDE_NONE = "None"
INCLUDE_METADATA = "Metadata"
INCLUDE_OBJECT = "Object"

_NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is "
    "in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class Printer:
    """Columns and how to compute a row's cells.

    ``row(obj, now)`` gives the finished cells. ``cells(obj)``, when given, gives the
    same row as a template whose time-dependent cells are :class:`Since` markers; rows of
    such printers are cached per object revision and only rendered per request (printers
    without it are recomputed from the decoded object on every request)."""

    columns: tuple[Column, ...]
    row: RowFn
    # Extra per-row fields (kube-apiserver's row conditions, e.g. Completed pods).
    conditions: Callable[[Obj], list[dict[str, str]]] | None = None
    cells: CellsFn | None = field(default=None, compare=False)


def template_printer(
    columns: tuple[Column, ...],
    cells: CellsFn,
    conditions: Callable[[Obj], list[dict[str, str]]] | None = None,
) -> Printer:
    """A cacheable :class:`Printer` from a row template function."""

    def row(obj: Obj, now: datetime) -> list[Cell]:
        return render_cells(cells(obj), now)

    return Printer(columns, row, conditions, cells)


NAME = Column("Name", format="name", description=_NAME_DOC)
AGE = Column("Age", description=_AGE_DOC)


def _wide(name: str, description: str, type_: str = "string") -> Column:
    return Column(name, type_, description, priority=1)


# --- small helpers shared by printers ----------------------------------------------


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name", ""))


def _age(obj: Obj) -> Since:
    return since(_meta(obj).get("creationTimestamp"))


def _spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def format_labels(labels: Mapping[str, str] | None) -> str:
    """``labels.FormatLabels``: sorted ``k=v`` pairs, ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """``LabelSelectorAsSelector(sel).String()``: requirements sorted by key."""
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = ",".join(sorted(str(v) for v in expr.get("values") or []))
        if op == "In":
            reqs.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            return "<invalid>"
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """``metav1.FormatLabelSelector``: like :func:`selector_string`, ``<none>`` if empty."""
    text = selector_string(selector)
    if text == "<invalid>":
        return "<error>"
    return text or "<none>"


def _containers(template_spec: Mapping[str, Any]) -> tuple[str, str]:
    """``layoutContainerCells``: comma-joined container names and images."""
    containers = template_spec.get("containers") or []
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return names, images


def _template_spec(obj: Obj) -> Mapping[str, Any]:
    return (_spec(obj).get("template") or {}).get("spec") or {}


# --- pods ----------------------------------------------------------------------------


def _is_restartable_init(container: Mapping[str, Any] | None) -> bool:
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


def _condition_true(conditions: list[Mapping[str, Any]], type_: str) -> bool:
    for cond in conditions:
        if cond.get("type") == type_:
            return cond.get("status") == "True"
    return False


def _later(current: str, candidate: str | None) -> str:
    # RFC 3339 strings in UTC compare in time order only when formats match; parse.
    if not candidate:
        return current
    if not current or parse_timestamp(candidate) > parse_timestamp(current):
        return candidate
    return current


def _terminated_reason(term: Mapping[str, Any], prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def pod_row(pod: Obj, now: datetime) -> list[Cell]:
    return render_cells(pod_cells(pod), now)


def pod_cells(pod: Obj) -> list[TemplateCell]:
    """``printPod`` (1.32, sidecar-aware): NAME READY STATUS RESTARTS AGE | IP NODE
    NOMINATED-NODE READINESS-GATES."""
    spec, status = _spec(pod), _status(pod)
    conditions = list(status.get("conditions") or [])
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(
        1 for c in init_specs.values() if _is_restartable_init(c)
    )
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart = ""
    last_sidecar_restart = ""
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    for cond in conditions:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    init_statuses = list(status.get("initContainerStatuses") or [])
    n_init = len(spec.get("initContainers") or [])
    for i, cs in enumerate(init_statuses):
        state = cs.get("state") or {}
        last_term = (cs.get("lastState") or {}).get("terminated")
        restarts += int(cs.get("restartCount") or 0)
        if last_term:
            last_restart = _later(last_restart, last_term.get("finishedAt"))
        sidecar = _is_restartable_init(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            if last_term:
                last_sidecar_restart = _later(last_sidecar_restart, last_term.get("finishedAt"))
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            restarts += int(cs.get("restartCount") or 0)
            last_term = (cs.get("lastState") or {}).get("terminated")
            if last_term:
                last_restart = _later(last_restart, last_term.get("finishedAt"))
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif term is not None:
                reason = _terminated_reason(term)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(conditions, "Ready") else "NotReady"

    deleting = _meta(pod).get("deletionTimestamp")
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_cell: TemplateCell = str(restarts)
    if restarts and last_restart:
        restarts_cell = since(last_restart, f"{restarts} (", " ago)")

    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_cell = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for cond in conditions:
                if cond.get("type") == gate.get("conditionType"):
                    true_count += cond.get("status") == "True"
                    break
        gates_cell = f"{true_count}/{len(gates)}"
    return [
        _name(pod),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        _age(pod),
        pod_ip,
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_cell,
    ]


def _pod_conditions(pod: Obj) -> list[dict[str, str]]:
    phase = _status(pod).get("phase")
    if phase == "Succeeded":
        return [_completed("Succeeded", "The pod has completed successfully.")]
    if phase == "Failed":
        return [_completed("Failed", "The pod failed.")]
    return []


def _completed(reason: str, message: str) -> dict[str, str]:
    return {"type": "Completed", "status": "True", "reason": reason, "message": message}


POD = template_printer(
    (
        NAME,
        Column(
            "Ready", description="The aggregate readiness state of this pod for accepting traffic."
        ),
        Column("Status", description="The aggregate status of the containers in this pod."),
        Column(
            "Restarts",
            description="The number of times the containers in this pod have been restarted "
            "and when the last container in this pod has restarted.",
        ),
        AGE,
        _wide("IP", "podIP address allocated to the pod. Routable at least within the cluster."),
        _wide("Node", "NodeName indicates in which node this pod is scheduled."),
        _wide("Nominated Node", "nominatedNodeName is set when this pod preempts other pods."),
        _wide(
            "Readiness Gates",
            "If specified, all readiness gates will be evaluated for pod readiness.",
        ),
    ),
    pod_cells,
    _pod_conditions,
)


# --- services and endpoints -----------------------------------------------------------


def _lb_ingress(status: Mapping[str, Any]) -> str:
    ips = {
        i.get("ip") or i.get("hostname")
        for i in (status.get("loadBalancer") or {}).get("ingress") or []
        if i.get("ip") or i.get("hostname")
    }
    return ",".join(sorted(str(x) for x in ips))


def service_external_ip(svc: Obj) -> str:
    """``getServiceExternalIP`` (wide: the server never clips)."""
    spec = _spec(svc)
    external = [str(x) for x in spec.get("externalIPs") or []]
    svc_type = spec.get("type") or "ClusterIP"
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if svc_type == "LoadBalancer":
        lb = _lb_ingress(_status(svc))
        if external:
            return ",".join(([*lb.split(",")] if lb else []) + external)
        return lb or "<pending>"
    if svc_type == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def service_ports(ports: list[Mapping[str, Any]]) -> str:
    """``makePortString``: ``80/TCP``, ``80:30080/TCP``."""
    pieces = []
    for p in ports:
        proto = p.get("protocol") or "TCP"
        if int(p.get("nodePort") or 0) > 0:
            pieces.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            pieces.append(f"{p.get('port')}/{proto}")
    return ",".join(pieces)


def service_row(svc: Obj, now: datetime) -> list[Cell]:
    return render_cells(service_cells(svc), now)


def service_cells(svc: Obj) -> list[TemplateCell]:
    spec = _spec(svc)
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        _name(svc),
        str(spec.get("type") or "ClusterIP"),
        str(cluster_ips[0]) if cluster_ips else "<none>",
        service_external_ip(svc),
        service_ports(spec.get("ports") or []) or "<none>",
        _age(svc),
        format_labels(spec.get("selector")),
    ]


SERVICE = template_printer(
    (
        NAME,
        Column("Type", description="type determines how the Service is exposed."),
        Column("Cluster-IP", description="clusterIP is the IP address of the service."),
        Column(
            "External-IP",
            description="externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
        ),
        Column("Port(s)", description="The list of ports that are exposed by this service."),
        AGE,
        _wide(
            "Selector",
            "Route service traffic to pods with label keys and values matching this selector.",
        ),
    ),
    service_cells,
)


def format_endpoints(endpoints: Obj, limit: int = 3) -> str:
    """``formatEndpoints``: ``10.0.0.1:80,10.0.0.2:80 + 1 more...``, ``<none>``."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    more = False
    count = 0
    for ss in subsets:
        addresses = ss.get("addresses") or []
        ports = ss.get("ports") or []
        groups: list[int | None] = [p.get("port") for p in ports] if ports else [None]
        for port in groups:
            count += len(addresses)
            for addr in addresses:
                if len(shown) == limit:
                    more = True
                    break
                ip = str(addr.get("ip", ""))
                if port is None:
                    shown.append(ip)
                else:
                    shown.append(f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}")
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


ENDPOINTS = template_printer(
    (
        NAME,
        Column("Endpoints", description="The set of all endpoints is the union of all subsets."),
        AGE,
    ),
    lambda obj: [_name(obj), format_endpoints(obj), _age(obj)],
)


# --- workloads ------------------------------------------------------------------------

_CONTAINERS = _wide("Containers", "Names of each container in the template.")
_IMAGES = _wide("Images", "Images referenced by each container in the template.")


def deployment_row(obj: Obj, now: datetime) -> list[Cell]:
    return render_cells(deployment_cells(obj), now)


def deployment_cells(obj: Obj) -> list[TemplateCell]:
    spec, status = _spec(obj), _status(obj)
    names, images = _containers(_template_spec(obj))
    replicas = spec.get("replicas")
    replicas = 1 if replicas is None else int(replicas)  # defaulted to 1 on write
    return [
        _name(obj),
        f"{int(status.get('readyReplicas') or 0)}/{replicas}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        _age(obj),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


DEPLOYMENT = template_printer(
    (
        NAME,
        Column("Ready", description="Number of the pod with ready state"),
        Column(
            "Up-to-date",
            description="Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        ),
        Column(
            "Available",
            description="Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        ),
        AGE,
        _CONTAINERS,
        _IMAGES,
        _wide(
            "Selector",
            "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
        ),
    ),
    deployment_cells,
)


def replicaset_row(obj: Obj, now: datetime) -> list[Cell]:
    return render_cells(replicaset_cells(obj), now)


def replicaset_cells(obj: Obj) -> list[TemplateCell]:
    spec, status = _spec(obj), _status(obj)
    names, images = _containers(_template_spec(obj))
    replicas = spec.get("replicas")
    return [
        _name(obj),
        int(1 if replicas is None else replicas),
        int(status.get("replicas") or 0),
        int(status.get("readyReplicas") or 0),
        _age(obj),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


REPLICASET = template_printer(
    (
        NAME,
        Column("Desired", "integer", "Replicas is the number of desired replicas."),
        Column("Current", "integer", "Replicas is the most recently observed number of replicas."),
        Column("Ready", "integer", "The number of ready replicas for this replica set."),
        AGE,
        _CONTAINERS,
        _IMAGES,
        _wide(
            "Selector", "Selector is a label query over pods that should match the replica count."
        ),
    ),
    replicaset_cells,
)


# --- config and identity --------------------------------------------------------------

CONFIGMAP = template_printer(
    (
        NAME,
        Column("Data", description="Data contains the configuration data."),
        AGE,
    ),
    lambda obj: [
        _name(obj),
        len(obj.get("data") or {}) + len(obj.get("binaryData") or {}),
        _age(obj),
    ],
)


def _secret_keys(obj: Obj) -> int:
    # stringData is merged into data on write; count a key once.
    return len(set(obj.get("data") or {}) | set(obj.get("stringData") or {}))


SECRET = template_printer(
    (
        NAME,
        Column("Type", description="Used to facilitate programmatic handling of secret data."),
        Column("Data", description="Data contains the secret data."),
        AGE,
    ),
    lambda obj: [
        _name(obj),
        str(obj.get("type") or "Opaque"),
        _secret_keys(obj),
        _age(obj),
    ],
)

SERVICEACCOUNT = template_printer(
    (
        NAME,
        Column(
            "Secrets",
            description="Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
        ),
        AGE,
    ),
    lambda obj: [_name(obj), len(obj.get("secrets") or []), _age(obj)],
)

NAMESPACE = template_printer(
    (NAME, Column("Status", description="The status of the namespace"), AGE),
    lambda obj: [_name(obj), str(_status(obj).get("phase") or ""), _age(obj)],
)

LEASE = template_printer(
    (
        NAME,
        Column(
            "Holder",
            description="holderIdentity contains the identity of the holder of a current lease.",
        ),
        AGE,
    ),
    lambda obj: [_name(obj), str(_spec(obj).get("holderIdentity") or ""), _age(obj)],
)


# --- nodes ----------------------------------------------------------------------------

NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_ROLE_LABEL = "kubernetes.io/role"


def node_roles(node: Obj) -> str:
    """``findNodeRoles``: roles from ``node-role.kubernetes.io/<role>`` and
    ``kubernetes.io/role=<role>`` labels, sorted, or ``<none>``."""
    roles: set[str] = set()
    for key, value in (_meta(node).get("labels") or {}).items():
        if key.startswith(NODE_ROLE_PREFIX) and key[len(NODE_ROLE_PREFIX) :]:
            roles.add(key[len(NODE_ROLE_PREFIX) :])
        elif key == NODE_ROLE_LABEL and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or "<none>"


def node_status(node: Obj) -> str:
    """``Ready``, ``NotReady``, ``Unknown``, plus ``,SchedulingDisabled`` if cordoned."""
    parts: list[str] = []
    for cond in _status(node).get("conditions") or []:
        if cond.get("type") == "Ready":
            parts = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not parts:
        parts = ["Unknown"]
    if _spec(node).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_address(node: Obj, kind: str) -> str:
    for addr in _status(node).get("addresses") or []:
        if addr.get("type") == kind:
            return str(addr.get("address", ""))
    return "<none>"


def node_row(node: Obj, now: datetime) -> list[Cell]:
    return render_cells(node_cells(node), now)


def node_cells(node: Obj) -> list[TemplateCell]:
    info = _status(node).get("nodeInfo") or {}
    return [
        _name(node),
        node_status(node),
        node_roles(node),
        _age(node),
        str(info.get("kubeletVersion") or ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        str(info.get("osImage") or "<unknown>"),
        str(info.get("kernelVersion") or "<unknown>"),
        str(info.get("containerRuntimeVersion") or "<unknown>"),
    ]


NODE = template_printer(
    (
        NAME,
        Column("Status", description="The status of the node"),
        Column("Roles", description="The roles of the node"),
        AGE,
        Column("Version", description="Kubelet Version reported by the node."),
        _wide("Internal-IP", "List of addresses reachable to the node."),
        _wide("External-IP", "List of addresses reachable to the node."),
        _wide(
            "OS-Image",
            "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        ),
        _wide(
            "Kernel-Version",
            "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        ),
        _wide(
            "Container-Runtime",
            "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
        ),
    ),
    node_cells,
)


# --- events ---------------------------------------------------------------------------


def _first_non_empty(*values: Any) -> str:
    for v in values:
        if v:
            return str(v)
    return ""


def event_row(ev: Obj, now: datetime) -> list[Cell]:
    return render_cells(event_cells(ev), now)


def event_cells(ev: Obj) -> list[TemplateCell]:
    """``printEvent`` (wide): LAST SEEN TYPE REASON OBJECT | SUBOBJECT SOURCE, MESSAGE |
    FIRST SEEN COUNT NAME."""
    first = since(ev.get("firstTimestamp") or ev.get("eventTime"))
    last = since(ev["lastTimestamp"]) if ev.get("lastTimestamp") else first
    count = int(ev.get("count") or 0)
    series = ev.get("series")
    if series:
        last = since(series.get("lastObservedTime"))
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1  # singleton events of the new API carry no count
    involved = ev.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = ev.get("source") or {}
    component = _first_non_empty(source.get("component"), ev.get("reportingComponent"))
    instance = _first_non_empty(source.get("host"), ev.get("reportingInstance"))
    return [
        last,
        str(ev.get("type") or ""),
        str(ev.get("reason") or ""),
        target,
        str(involved.get("fieldPath") or ""),
        f"{component}, {instance}" if instance else component,
        str(ev.get("message") or "").strip(),
        first,
        count,
        _name(ev),
    ]


EVENT = template_printer(
    (
        Column(
            "Last Seen",
            description="The time at which the most recent occurrence of this event was recorded.",
        ),
        Column(
            "Type",
            description="Type of this event (Normal, Warning), new types could be added in the future",
        ),
        Column(
            "Reason",
            description="This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
        ),
        Column("Object", description="The object that this event is about."),
        _wide(
            "Subobject",
            "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
        ),
        _wide(
            "Source",
            "The component reporting this event. Should be a short machine understandable string.",
        ),
        Column(
            "Message", description="A human-readable description of the status of this operation."
        ),
        _wide(
            "First Seen",
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
        ),
        _wide("Count", "The number of times this event has occurred."),
        Column("Name", priority=1, format="name", description=_NAME_DOC),
    ),
    event_cells,
)

DEFAULT = template_printer((NAME, AGE), lambda obj: [_name(obj), _age(obj)])

_PRINTERS: dict[str, Printer] = {
    "pods": POD,
    "services": SERVICE,
    "endpoints": ENDPOINTS,
    "deployments.apps": DEPLOYMENT,
    "replicasets.apps": REPLICASET,
    "configmaps": CONFIGMAP,
    "secrets": SECRET,
    "namespaces": NAMESPACE,
    "nodes": NODE,
    "events": EVENT,
    "serviceaccounts": SERVICEACCOUNT,
    "leases.coordination.k8s.io": LEASE,
}


def register(resource: str, printer: Printer) -> None:
    """Add or replace the printer for a resource (``gitsources.kctl.dev``)."""
    _PRINTERS[resource] = printer


def printer_for(resource: str) -> Printer:
    return _PRINTERS.get(resource, DEFAULT)


# --- the Table ------------------------------------------------------------------------


def row_metadata(obj: Obj) -> dict[str, Any]:
    """The ``PartialObjectMetadata`` of a row (``includeObject=Metadata``), without
    ``metadata.managedFields``: kubectl never reads them from a Table, and they would
    be half of its bytes."""
    md = _meta(obj)
    if "managedFields" in md:
        md = {k: v for k, v in md.items() if k != "managedFields"}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md}


def _row_object(obj: Obj, include_object: str) -> Any:
    if include_object == INCLUDE_OBJECT:
        return obj
    return row_metadata(obj)


def table_for(
    info: ResourceInfo,
    objects: list[dict[str, Any]],
    *,
    include_object: str = INCLUDE_METADATA,
    now: datetime | None = None,
    with_column_definitions: bool = True,
    resource_version: str = "",
    continue_token: str = "",
) -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table of ``objects`` (all of kind ``info``, a ResourceInfo).

    ``include_object`` is the request's ``includeObject`` (None|Metadata|Object).
    ``with_column_definitions=False`` serves watch events after the first, where
    kubectl reuses the definitions it already has."""
    if include_object not in (INCLUDE_NONE, INCLUDE_METADATA, INCLUDE_OBJECT):
        raise ValueError(f"includeObject must be None, Metadata or Object, not {include_object!r}")
    printer = printer_for(info.resource)
    now = now or datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer.row(obj, now)}
        if printer.conditions is not None:
            conditions = printer.conditions(obj)
            if conditions:
                row["conditions"] = conditions
        if include_object != INCLUDE_NONE:
            row["object"] = _row_object(obj, include_object)
        rows.append(row)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [c.to_dict() for c in printer.columns]
        if with_column_definitions
        else [],
        "rows": rows,
    }
