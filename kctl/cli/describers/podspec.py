"""Pod specs as kubectl describe prints them: containers, probes, environment,
mounts, volumes, and the ``Pod Template:`` block of the workload describers.

A Pod and a pod template share these blocks with one difference kubectl makes
through an indent argument: inside ``Pod Template:`` the section titles get two
extra spaces and container/volume names one extra space, while the fields under
them keep the Pod's indentation (``   nginx:`` then ``    Image:``). Container
status (state, restarts, image ID) and the values of downward-API environment
variables exist only for a Pod.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from kctl.cli.describers.common import (
    Obj,
    labels_block,
    meta,
    quantity,
    quantity_string,
    tolerations_block,
)
from kctl.cli.describers.gofmt import go_bool, go_quote, go_value, int_or_string, title_bool
from kctl.cli.describers.writer import LEVEL_0, LEVEL_1, LEVEL_2, LEVEL_3, PrefixWriter

# env var -> its value, for fieldRef variables (Pods only)
FieldResolver = Callable[[Mapping[str, Any]], str]


# --- containers ---------------------------------------------------------------------


def containers_block(
    w: PrefixWriter,
    label: str,
    containers: list[Mapping[str, Any]],
    statuses: list[Mapping[str, Any]] | None,
    resolver: FieldResolver | None,
    space: str,
) -> None:
    """``describeContainers``."""
    by_name = {s.get("name"): s for s in statuses or []}
    w.write(LEVEL_0, f"{space}{label}:{'' if containers else ' <none>'}\n")
    for container in containers:
        status = by_name.get(container.get("name"))
        _basic_info(w, container, status, space)
        _command(w, container)
        if status is not None:
            _state(w, status)
        resources_block(w, container.get("resources"), LEVEL_2)
        _probes(w, container)
        if container.get("envFrom"):
            _env_from(w, container)
        _env(w, container, resolver)
        _mounts(w, container)


def _ports(ports: list[Mapping[str, Any]], field: str) -> str:
    return ", ".join(f"{p.get(field) or 0}/{p.get('protocol') or ''}" for p in ports)


def _basic_info(
    w: PrefixWriter, container: Mapping[str, Any], status: Mapping[str, Any] | None, space: str
) -> None:
    w.write(LEVEL_1, f"{' ' if space else ''}{container.get('name', '')}:\n")
    if status is not None:
        w.write(LEVEL_2, f"Container ID:\t{status.get('containerID', '')}\n")
    w.write(LEVEL_2, f"Image:\t{container.get('image', '')}\n")
    if status is not None:
        w.write(LEVEL_2, f"Image ID:\t{status.get('imageID', '')}\n")
    ports = list(container.get("ports") or [])
    for title, field in (("Port", "containerPort"), ("Host Port", "hostPort")):
        text = _ports(ports, field)
        if "," in text:
            w.write(LEVEL_2, f"{title}s:\t{text}\n")
        else:
            w.write(LEVEL_2, f"{title}:\t{text or '<none>'}\n")
    seccomp = (container.get("securityContext") or {}).get("seccompProfile")
    if seccomp:
        w.write(LEVEL_2, f"SeccompProfile:\t{seccomp.get('type', '')}\n")
        if seccomp.get("type") == "Localhost":
            w.write(LEVEL_3, f"LocalhostProfile:\t{seccomp.get('localhostProfile', '')}\n")


def _command(w: PrefixWriter, container: Mapping[str, Any]) -> None:
    for title, key in (("Command", "command"), ("Args", "args")):
        if container.get(key):
            w.write(LEVEL_2, f"{title}:\n")
            for item in container[key]:
                for part in str(item).split("\n"):
                    w.write(LEVEL_3, f"{part}\n")


def _state(w: PrefixWriter, status: Mapping[str, Any]) -> None:
    state_block(w, "State", status.get("state") or {})
    last = status.get("lastState") or {}
    if last.get("terminated") is not None:
        state_block(w, "Last State", last)
    w.write(LEVEL_2, f"Ready:\t{title_bool(status.get('ready'))}\n")
    w.write(LEVEL_2, f"Restart Count:\t{int(status.get('restartCount') or 0)}\n")


def state_block(w: PrefixWriter, title: str, state: Mapping[str, Any]) -> None:
    """``describeStatus``: running, waiting (the default) or terminated."""
    from kctl.cli.describers.gofmt import rfc1123z

    if state.get("running") is not None:
        w.write(LEVEL_2, f"{title}:\tRunning\n")
        w.write(LEVEL_3, f"Started:\t{rfc1123z(state['running'].get('startedAt'))}\n")
    elif state.get("waiting") is not None:
        w.write(LEVEL_2, f"{title}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.write(LEVEL_3, f"Reason:\t{state['waiting']['reason']}\n")
    elif state.get("terminated") is not None:
        term = state["terminated"]
        w.write(LEVEL_2, f"{title}:\tTerminated\n")
        if term.get("reason"):
            w.write(LEVEL_3, f"Reason:\t{term['reason']}\n")
        if term.get("message"):
            w.write(LEVEL_3, f"Message:\t{term['message']}\n")
        w.write(LEVEL_3, f"Exit Code:\t{int(term.get('exitCode') or 0)}\n")
        if int(term.get("signal") or 0) > 0:
            w.write(LEVEL_3, f"Signal:\t{int(term['signal'])}\n")
        w.write(LEVEL_3, f"Started:\t{rfc1123z(term.get('startedAt'))}\n")
        w.write(LEVEL_3, f"Finished:\t{rfc1123z(term.get('finishedAt'))}\n")
    else:
        w.write(LEVEL_2, f"{title}:\tWaiting\n")


def resources_block(w: PrefixWriter, resources: Mapping[str, Any] | None, level: int) -> None:
    """``describeResources``: ``Limits:`` then ``Requests:``, names sorted."""
    for title, key in (("Limits", "limits"), ("Requests", "requests")):
        values = (resources or {}).get(key) or {}
        if values:
            w.write(level, f"{title}:\n")
        for name in sorted(values):
            w.write(level + 1, f"{name}:\t{quantity_string(values[name])}\n")


def _probes(w: PrefixWriter, container: Mapping[str, Any]) -> None:
    for title, key in (
        ("Liveness", "livenessProbe"),
        ("Readiness", "readinessProbe"),
        ("Startup", "startupProbe"),
    ):
        if container.get(key) is not None:
            w.write(LEVEL_2, f"{title}:\t{probe_string(container[key])}\n")


def _join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def probe_string(probe: Mapping[str, Any]) -> str:
    """``DescribeProbe``: ``http-get http://:80/ delay=0s timeout=1s ...``."""
    attrs = (
        f"delay={int(probe.get('initialDelaySeconds') or 0)}s "
        f"timeout={int(probe.get('timeoutSeconds') or 0)}s "
        f"period={int(probe.get('periodSeconds') or 0)}s "
        f"#success={int(probe.get('successThreshold') or 0)} "
        f"#failure={int(probe.get('failureThreshold') or 0)}"
    )
    if probe.get("exec") is not None:
        command = " ".join(str(c) for c in probe["exec"].get("command") or [])
        return f"exec [{command}] {attrs}"
    if probe.get("httpGet") is not None:
        http = probe["httpGet"]
        port = int_or_string(http.get("port")) if http.get("port") is not None else ""
        host = str(http.get("host") or "")
        authority = _join_host_port(host, port) if port else host
        path = str(http.get("path") or "")
        if path and not path.startswith("/") and authority:
            path = "/" + path
        scheme = str(http.get("scheme") or "").lower()
        url = f"{scheme}:" if scheme else ""
        if scheme or authority:
            url += "//" + authority
        url += quote(path, safe="/$&+,:;=@!'()*~")
        return f"http-get {url} {attrs}"
    if probe.get("tcpSocket") is not None:
        tcp = probe["tcpSocket"]
        return f"tcp-socket {tcp.get('host', '')}:{int_or_string(tcp.get('port'))} {attrs}"
    if probe.get("grpc") is not None:
        grpc = probe["grpc"]
        return f"grpc <pod>:{int(grpc.get('port') or 0)} {grpc.get('service') or ''} {attrs}"
    return f"unknown {attrs}"


def _env_from(w: PrefixWriter, container: Mapping[str, Any]) -> None:
    w.write(LEVEL_2, "Environment Variables from:\n")
    for source in container.get("envFrom") or []:
        kind, ref = "", {}
        if source.get("configMapRef") is not None:
            kind, ref = "ConfigMap", source["configMapRef"]
        elif source.get("secretRef") is not None:
            kind, ref = "Secret", source["secretRef"]
        optional = go_bool(ref.get("optional"))
        name = ref.get("name", "")
        if source.get("prefix"):
            w.write(
                LEVEL_3, f"{name}\t{kind} with prefix '{source['prefix']}'\tOptional: {optional}\n"
            )
        else:
            w.write(LEVEL_3, f"{name}\t{kind}\tOptional: {optional}\n")


def _env(w: PrefixWriter, container: Mapping[str, Any], resolver: FieldResolver | None) -> None:
    env = list(container.get("env") or [])
    w.write(LEVEL_2, f"Environment:{'' if env else chr(9) + '<none>'}\n")
    for var in env:
        name = var.get("name", "")
        source = var.get("valueFrom")
        if source is None:
            for i, part in enumerate(str(var.get("value") or "").split("\n")):
                w.write(LEVEL_3, f"{name}:\t{part}\n" if i == 0 else f"\t{part}\n")
            continue
        if source.get("fieldRef") is not None:
            ref = source["fieldRef"]
            value = resolver(ref) if resolver else ""
            w.write(
                LEVEL_3,
                f"{name}:\t{value} ({ref.get('apiVersion', '')}:{ref.get('fieldPath', '')})\n",
            )
        elif source.get("resourceFieldRef") is not None:
            ref = source["resourceFieldRef"]
            resource = str(ref.get("resource") or "")
            value = container_resource_value(ref, container)
            if value == "0" and resource in ("limits.cpu", "limits.memory"):
                value = "node allocatable"
            w.write(LEVEL_3, f"{name}:\t{value} ({resource})\n")
        elif source.get("secretKeyRef") is not None:
            ref = source["secretKeyRef"]
            w.write(
                LEVEL_3,
                f"{name}:\t<set to the key '{ref.get('key', '')}' in secret "
                f"'{ref.get('name', '')}'>\tOptional: {go_bool(ref.get('optional'))}\n",
            )
        elif source.get("configMapKeyRef") is not None:
            ref = source["configMapKeyRef"]
            w.write(
                LEVEL_3,
                f"{name}:\t<set to the key '{ref.get('key', '')}' of config map "
                f"'{ref.get('name', '')}'>\tOptional: {go_bool(ref.get('optional'))}\n",
            )


def container_resource_value(ref: Mapping[str, Any], container: Mapping[str, Any]) -> str:
    """``ExtractContainerResourceValue``: the container's request or limit divided by
    the divisor (default 1), rounded up; ``""`` for a resource it does not know."""
    divisor = quantity(ref.get("divisor"))
    if divisor.is_zero:
        divisor = quantity(1)
    kind, _, name = str(ref.get("resource") or "").partition(".")
    if kind not in ("limits", "requests"):
        return ""
    if name not in ("cpu", "memory", "ephemeral-storage") and not name.startswith("hugepages-"):
        return ""
    amount = quantity(((container.get("resources") or {}).get(kind) or {}).get(name))
    if name == "cpu":
        return str(math.ceil(amount.milli_value() / divisor.milli_value()))
    return str(math.ceil(amount.int_value() / divisor.int_value()))


def _mounts(w: PrefixWriter, container: Mapping[str, Any]) -> None:
    mounts = sorted(container.get("volumeMounts") or [], key=lambda m: str(m.get("mountPath", "")))
    none = "" if mounts else "\t<none>"
    w.write(LEVEL_2, f"Mounts:{none}\n")
    for mount in mounts:
        flags = ["ro" if mount.get("readOnly") else "rw"]
        if mount.get("subPath"):
            flags.append(f"path={go_quote(str(mount['subPath']))}")
        w.write(
            LEVEL_3,
            f"{mount.get('mountPath', '')} from {mount.get('name', '')} ({','.join(flags)})\n",
        )
    devices = sorted(
        container.get("volumeDevices") or [], key=lambda d: str(d.get("devicePath", ""))
    )
    if devices:
        w.write(LEVEL_2, f"Devices:{none}\n")
        for device in devices:
            w.write(LEVEL_3, f"{device.get('devicePath', '')} from {device.get('name', '')}\n")


# --- volumes ------------------------------------------------------------------------


def _lines(w: PrefixWriter, kind: str, fields: list[tuple[str, Any]]) -> None:
    """One volume source: ``Type:`` at level 2, its fields indented alike."""
    text = f"Type:\t{kind}\n" + "".join(f"    {k}:\t{go_value(v)}\n" for k, v in fields)
    w.write(LEVEL_2, text)


def volumes_block(w: PrefixWriter, volumes: list[Mapping[str, Any]] | None, space: str) -> None:
    """``describeVolumes``."""
    if not volumes:
        w.write(LEVEL_0, f"{space}Volumes:\t<none>\n")
        return
    w.write(LEVEL_0, f"{space}Volumes:\n")
    for volume in volumes:
        w.write(LEVEL_1, f"{' ' if space else ''}{volume.get('name', '')}:\n")
        _volume_source(w, volume)


def _volume_source(w: PrefixWriter, v: Mapping[str, Any]) -> None:  # noqa: C901 (a dispatch)
    if (src := v.get("hostPath")) is not None:
        _lines(
            w,
            "HostPath (bare host directory volume)",
            [
                ("Path", src.get("path", "")),
                ("HostPathType", "<none>" if src.get("type") is None else src["type"]),
            ],
        )
    elif (src := v.get("emptyDir")) is not None:
        limit = src.get("sizeLimit")
        size = (
            quantity_string(limit) if limit is not None and quantity(limit).value > 0 else "<unset>"
        )
        _lines(
            w,
            "EmptyDir (a temporary directory that shares a pod's lifetime)",
            [("Medium", src.get("medium", "")), ("SizeLimit", size)],
        )
    elif (src := v.get("gitRepo")) is not None:
        _lines(
            w,
            "GitRepo (a volume that is pulled from git when the pod is created)",
            [("Repository", src.get("repository", "")), ("Revision", src.get("revision", ""))],
        )
    elif (src := v.get("secret")) is not None:
        _lines(
            w,
            "Secret (a volume populated by a Secret)",
            [("SecretName", src.get("secretName", "")), ("Optional", bool(src.get("optional")))],
        )
    elif (src := v.get("configMap")) is not None:
        _lines(
            w,
            "ConfigMap (a volume populated by a ConfigMap)",
            [("Name", src.get("name", "")), ("Optional", bool(src.get("optional")))],
        )
    elif (src := v.get("nfs")) is not None:
        _lines(
            w,
            "NFS (an NFS mount that lasts the lifetime of a pod)",
            [
                ("Server", src.get("server", "")),
                ("Path", src.get("path", "")),
                ("ReadOnly", bool(src.get("readOnly"))),
            ],
        )
    elif (src := v.get("persistentVolumeClaim")) is not None:
        _lines(
            w,
            "PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
            [("ClaimName", src.get("claimName", "")), ("ReadOnly", bool(src.get("readOnly")))],
        )
    elif v.get("ephemeral") is not None:
        w.write(
            LEVEL_2,
            "Type:\tEphemeralVolume (an inline specification for a volume that gets created "
            "and deleted with the pod)\n",
        )
    elif (src := v.get("downwardAPI")) is not None:
        w.write(LEVEL_2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n")
        w.write(LEVEL_0, "    Items:\n")
        for item in src.get("items") or []:
            if item.get("fieldRef") is not None:
                w.write(
                    LEVEL_3, f"{item['fieldRef'].get('fieldPath', '')} -> {item.get('path', '')}\n"
                )
            if item.get("resourceFieldRef") is not None:
                resource = item["resourceFieldRef"].get("resource", "")
                w.write(LEVEL_3, f"{resource} -> {item.get('path', '')}\n")
    elif (src := v.get("projected")) is not None:
        _projected(w, src)
    elif (src := v.get("csi")) is not None:
        _lines(
            w,
            "CSI (a Container Storage Interface (CSI) volume source)",
            [
                ("Driver", src.get("driver", "")),
                ("FSType", src.get("fsType") or ""),
                ("ReadOnly", bool(src.get("readOnly"))),
            ],
        )
        _csi_attributes(w, src.get("volumeAttributes") or {})
    elif (src := v.get("image")) is not None:
        _lines(
            w,
            "Image (a container image or OCI artifact)",
            [("Reference", src.get("reference", "")), ("PullPolicy", src.get("pullPolicy", ""))],
        )
    else:
        w.write(LEVEL_1, "<unknown>\n")


def _projected(w: PrefixWriter, src: Mapping[str, Any]) -> None:
    w.write(
        LEVEL_2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n"
    )
    for source in src.get("sources") or []:
        if (ref := source.get("secret")) is not None:
            w.write(
                LEVEL_2,
                f"SecretName:\t{ref.get('name', '')}\n"
                f"    SecretOptionalName:\t{go_value(ref.get('optional'))}\n",
            )
        elif source.get("downwardAPI") is not None:
            w.write(LEVEL_2, "DownwardAPI:\ttrue\n")
        elif (ref := source.get("configMap")) is not None:
            w.write(
                LEVEL_2,
                f"ConfigMapName:\t{ref.get('name', '')}\n"
                f"    ConfigMapOptional:\t{go_value(ref.get('optional'))}\n",
            )
        elif (ref := source.get("serviceAccountToken")) is not None:
            w.write(LEVEL_2, f"TokenExpirationSeconds:\t{int(ref.get('expirationSeconds') or 0)}\n")


def _csi_attributes(w: PrefixWriter, attributes: Mapping[str, Any]) -> None:
    w.write(LEVEL_2, "VolumeAttributes:\t")
    if not attributes:
        w.line("<none>")
        return
    for i, key in enumerate(sorted(attributes)):
        if i:
            w.write(LEVEL_2, "\t")
        text = f"{key}={attributes[key]}"
        w.write(LEVEL_2, f"{text[:140]}...\n" if len(text) > 140 else f"{text}\n")


# --- spread constraints and the pod template --------------------------------------------


def spread_constraints_block(
    w: PrefixWriter, constraints: list[Mapping[str, Any]] | None, space: str
) -> None:
    """``describeTopologySpreadConstraints``."""
    from kctl.api.tables import format_label_selector

    if not constraints:
        return
    w.write(LEVEL_0, f"{space}Topology Spread Constraints:\t")
    for i, tsc in enumerate(sorted(constraints, key=lambda c: str(c.get("topologyKey", "")))):
        if i:
            w.write(LEVEL_0, space + "\t")
        text = (
            f"{tsc.get('topologyKey', '')}:{tsc.get('whenUnsatisfiable', '')} "
            f"when max skew {int(tsc.get('maxSkew') or 0)} is exceeded"
        )
        if tsc.get("labelSelector") is not None:
            text += f" for selector {format_label_selector(tsc['labelSelector'])}"
        w.write(LEVEL_0, text + "\n")


def pod_template_block(w: PrefixWriter, template: Mapping[str, Any] | None) -> None:
    """``DescribePodTemplate``, the block Deployments and ReplicaSets print."""
    from kctl.cli.describers.common import annotations_block

    w.write(LEVEL_0, "Pod Template:\n")
    if template is None:
        w.write(LEVEL_1, "<unset>")
        return
    md = meta(template)
    pod_spec = template.get("spec") or {}
    labels_block(w, "  Labels", md.get("labels"))
    if md.get("annotations"):
        annotations_block(w, "  Annotations", md["annotations"])
    if pod_spec.get("serviceAccountName"):
        w.write(LEVEL_1, f"Service Account:\t{pod_spec['serviceAccountName']}\n")
    if pod_spec.get("initContainers"):
        containers_block(w, "Init Containers", pod_spec["initContainers"], None, None, "  ")
    containers_block(w, "Containers", list(pod_spec.get("containers") or []), None, None, "  ")
    volumes_block(w, pod_spec.get("volumes"), "  ")
    spread_constraints_block(w, pod_spec.get("topologySpreadConstraints"), "  ")
    if pod_spec.get("priorityClassName"):
        w.write(LEVEL_1, f"Priority Class Name:\t{pod_spec['priorityClassName']}\n")
    labels_block(w, "  Node-Selectors", pod_spec.get("nodeSelector"))
    tolerations_block(w, "  Tolerations", pod_spec.get("tolerations"))


def field_resolver(pod: Obj) -> FieldResolver:
    """``EnvValueRetriever``: kubectl converts the field path with its client-side
    scheme, which knows only ``metadata.name`` and ``metadata.namespace`` for pods, so
    every other field path (labels, uid, node name...) prints empty."""
    md = meta(pod)

    def resolve(ref: Mapping[str, Any]) -> str:
        path = str(ref.get("fieldPath") or "")
        if path in ("metadata.name", "metadata.namespace"):
            return str(md.get(path.split(".", 1)[1]) or "")
        return ""

    return resolve
