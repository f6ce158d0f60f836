"""Defaulting: fill the fields Kubernetes fills, so stored objects look like upstream's.

kube-apiserver defaults every object it decodes (``SetDefaults_*`` in
``pkg/apis/*/v1``), and a few admission plugins and create strategies add more on
create (ServiceAccount, Priority, the Pod's Pending phase,
the Namespace's ``kubernetes`` finalizer). Controllers and kubectl rely on the result:
the deployment controller hashes the defaulted pod template, ``kubectl apply``'s
three-way diff compares against it, ``rollout status`` reads ``spec.replicas``. So the
rules below follow upstream field by field, and only ever fill what is missing
(defaulting is idempotent and runs on every write, before validation).

``create=False`` (updates, patches) skips the create-only parts, as upstream's
admission plugins and ``PrepareForCreate`` do.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

Obj = dict[str, Any]

DEFAULT_SCHEDULER = "default-scheduler"
CLIENT_IP_AFFINITY_SECONDS = 10800
VOLUME_DEFAULT_MODE = 0o644  # 420


def _child(parent: Obj, key: str) -> Obj:
    """``parent[key]`` as a dict, created when missing or null."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = {}
        parent[key] = value
    return value


def _items(parent: Obj, key: str) -> list[Obj]:
    value = parent.get(key)
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]


def _setdefault(obj: Obj, key: str, value: Any) -> None:
    """Set ``key`` when missing, null or empty string (Go's zero value)."""
    if obj.get(key) in (None, ""):
        obj[key] = value


# --- containers and pod specs ----------------------------------------------------------


def image_tag(image: str) -> str:
    """The tag of an image reference; ``latest`` when neither tag nor digest is given
    (``parsers.ParseImageName``); ``""`` for digest references."""
    if "@" in image:
        return ""
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    _setdefault(probe, "timeoutSeconds", 1)
    _setdefault(probe, "periodSeconds", 10)
    _setdefault(probe, "successThreshold", 1)
    _setdefault(probe, "failureThreshold", 3)
    _http_get(probe.get("httpGet"))


def _http_get(action: Any) -> None:
    if isinstance(action, dict):
        _setdefault(action, "path", "/")
        _setdefault(action, "scheme", "HTTP")


def _container(ctr: Obj) -> None:
    image = ctr.get("image")
    if not ctr.get("imagePullPolicy"):
        tag = image_tag(image) if isinstance(image, str) else "latest"
        ctr["imagePullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    _setdefault(ctr, "terminationMessagePath", "/dev/termination-log")
    _setdefault(ctr, "terminationMessagePolicy", "File")
    if not isinstance(ctr.get("resources"), dict):
        ctr["resources"] = {}
    for port in _items(ctr, "ports"):
        _setdefault(port, "protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(ctr.get(probe))
    lifecycle = ctr.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            handler = lifecycle.get(hook)
            if isinstance(handler, dict):
                _http_get(handler.get("httpGet"))
    for env in _items(ctr, "env"):
        source = env.get("valueFrom")
        if isinstance(source, dict) and isinstance(source.get("fieldRef"), dict):
            _setdefault(source["fieldRef"], "apiVersion", "v1")


_VOLUME_SOURCES_WITH_MODE = ("configMap", "secret", "projected", "downwardAPI")


def _volume(vol: Obj) -> None:
    sources = [k for k in vol if k != "name" and vol[k] is not None]
    if not sources:
        vol["emptyDir"] = {}
        return
    for key in _VOLUME_SOURCES_WITH_MODE:
        source = vol.get(key)
        if isinstance(source, dict):
            _setdefault(source, "defaultMode", VOLUME_DEFAULT_MODE)
    host = vol.get("hostPath")
    if isinstance(host, dict) and host.get("type") is None:
        host["type"] = ""


def default_pod_spec(spec: Obj) -> None:
    """``SetDefaults_PodSpec`` and what it implies for containers, probes, volumes."""
    _setdefault(spec, "dnsPolicy", "ClusterFirst")
    _setdefault(spec, "restartPolicy", "Always")
    if not isinstance(spec.get("securityContext"), dict):
        spec["securityContext"] = {}
    _setdefault(spec, "terminationGracePeriodSeconds", 30)
    _setdefault(spec, "schedulerName", DEFAULT_SCHEDULER)
    for group in ("initContainers", "containers"):
        for ctr in _items(spec, group):
            _container(ctr)
    for vol in _items(spec, "volumes"):
        _volume(vol)


def default_pod_template(template: Any) -> None:
    if isinstance(template, dict):
        default_pod_spec(_child(template, "spec"))


def _requests_from_limits(ctr: Obj) -> None:
    resources = ctr.get("resources")
    if not isinstance(resources, dict) or not isinstance(resources.get("limits"), dict):
        return
    requests = _child(resources, "requests")
    for name, value in resources["limits"].items():
        requests.setdefault(name, value)


def _host_network_ports(ctr: Obj) -> None:
    for port in _items(ctr, "ports"):
        if not port.get("hostPort"):
            port["hostPort"] = port.get("containerPort")


def qos_class(spec: Obj) -> str:
    """``qos.GetPodQOS``: Guaranteed, Burstable or BestEffort (cpu and memory only)."""
    guaranteed = True
    any_set = False
    for group in ("initContainers", "containers"):
        for ctr in _items(spec, group):
            res = ctr.get("resources")
            res = res if isinstance(res, dict) else {}
            req = _compute(res.get("requests"))
            lim = _compute(res.get("limits"))
            any_set = any_set or bool(req) or bool(lim)
            if set(lim) != {"cpu", "memory"}:
                guaranteed = False
            elif any(_differ(req.get(k, lim[k]), lim[k]) for k in lim):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _compute(resources: Any) -> dict[str, Any]:
    if not isinstance(resources, dict):
        return {}
    return {k: v for k, v in resources.items() if k in ("cpu", "memory")}


def _differ(a: Any, b: Any) -> bool:
    from kctl.api import quantity

    try:
        return quantity.parse(a) != quantity.parse(b)
    except quantity.QuantityError:
        return str(a) != str(b)


def _pod(obj: Obj, create: bool) -> None:
    spec = _child(obj, "spec")
    default_pod_spec(spec)
    for group in ("initContainers", "containers"):
        for ctr in _items(spec, group):
            _requests_from_limits(ctr)
            if spec.get("hostNetwork") is True:
                _host_network_ports(ctr)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if not create:
        return
    # ServiceAccount admission (the deprecated serviceAccount mirrors the name).
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = account
    spec["serviceAccount"] = account
    # Priority admission, without PriorityClasses: priority 0.
    if not spec.get("priorityClassName"):
        _setdefault(spec, "priority", 0)
    _setdefault(spec, "preemptionPolicy", "PreemptLowerPriority")
    status = _child(obj, "status")
    _setdefault(status, "phase", "Pending")
    _setdefault(status, "qosClass", qos_class(spec))


# --- workloads -------------------------------------------------------------------------


def _deployment(obj: Obj, create: bool) -> None:
    spec = _child(obj, "spec")
    _setdefault(spec, "replicas", 1)
    strategy = _child(spec, "strategy")
    _setdefault(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _child(strategy, "rollingUpdate")
        _setdefault(rolling, "maxUnavailable", "25%")
        _setdefault(rolling, "maxSurge", "25%")
    _setdefault(spec, "revisionHistoryLimit", 10)
    _setdefault(spec, "progressDeadlineSeconds", 600)
    default_pod_template(spec.get("template"))


def _replicaset(obj: Obj, create: bool) -> None:
    spec = _child(obj, "spec")
    _setdefault(spec, "replicas", 1)
    default_pod_template(spec.get("template"))


# --- networking ------------------------------------------------------------------------


def _service(obj: Obj, create: bool) -> None:
    spec = _child(obj, "spec")
    _setdefault(spec, "type", "ClusterIP")
    kind = spec["type"]
    _setdefault(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        client_ip = _child(_child(spec, "sessionAffinityConfig"), "clientIP")
        _setdefault(client_ip, "timeoutSeconds", CLIENT_IP_AFFINITY_SECONDS)
    for port in _items(spec, "ports"):
        _setdefault(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if kind in ("NodePort", "LoadBalancer"):
        _setdefault(spec, "externalTrafficPolicy", "Cluster")
    if kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        _setdefault(spec, "internalTrafficPolicy", "Cluster")
        # IP family selection (done by upstream's service REST on allocation).
        _setdefault(spec, "ipFamilyPolicy", "SingleStack")
        if not spec.get("ipFamilies"):
            ip = spec.get("clusterIP")
            spec["ipFamilies"] = ["IPv6" if isinstance(ip, str) and ":" in ip else "IPv4"]
    if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True


def _endpoints(obj: Obj, create: bool) -> None:
    for subset in _items(obj, "subsets"):
        for port in _items(subset, "ports"):
            _setdefault(port, "protocol", "TCP")


# --- cluster objects -------------------------------------------------------------------


def _namespace(obj: Obj, create: bool) -> None:
    md = _child(obj, "metadata")
    name = md.get("name")
    if isinstance(name, str) and name:
        _child(md, "labels")["kubernetes.io/metadata.name"] = name
    if create:
        spec = _child(obj, "spec")
        finalizers = spec.get("finalizers")
        if not isinstance(finalizers, list):
            finalizers = []
        if "kubernetes" not in finalizers:
            spec["finalizers"] = [*finalizers, "kubernetes"]
    _setdefault(_child(obj, "status"), "phase", "Active")


def _secret(obj: Obj, create: bool) -> None:
    _setdefault(obj, "type", "Opaque")
    # stringData is write-only: folded into data (base64), winning over data's keys, and
    # never stored, as kube-apiserver's Secret conversion does.
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        existing = obj.get("data")
        data: dict[str, Any] = existing if isinstance(existing, dict) else {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def _node(obj: Obj, create: bool) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and isinstance(status.get("capacity"), dict):
        if status.get("allocatable") is None:
            status["allocatable"] = dict(status["capacity"])


Defaulter = Callable[[Obj, bool], None]

DEFAULTERS: dict[tuple[str, str], Defaulter] = {
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "Endpoints"): _endpoints,
    ("", "Namespace"): _namespace,
    ("", "Secret"): _secret,
    ("", "Node"): _node,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replicaset,
}


def apply_defaults(info: ResourceInfo, obj: Obj, *, create: bool = True) -> None:
    """Fill in ``obj`` (mutated) as kube-apiserver would before validating it."""
    defaulter = DEFAULTERS.get((info.group, info.kind))
    if defaulter is not None:
        defaulter(obj, create)
