"""CRI ``PodSandboxConfig`` and ``ContainerConfig`` messages from a pod, the kubelet's way.

Sandbox: metadata (name, uid, namespace, attempt), the hostname (``spec.hostname`` or
the pod name, at most 63 characters), the log directory, the DNS config, hostPort
mappings, the pod's labels and annotations plus the kubelet's ``io.kubernetes.pod.*``
labels, and the Linux part: the pod's cgroup parent, host namespaces, sysctls.

Container: metadata with the restart count as attempt, the image id, expanded command
and args, env, mounts, the log path ``<container>/<restartCount>.log`` (the layout
``kubectl logs`` relies on), labels and annotations that let a restarted agent find and
count it, resources and the security context's basics.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from node.network.dns import PodDNS
from node.runtime.cri import api_pb2 as pb
from node.runtime.cri_runtime import keys
from node.runtime.cri_runtime.resources import LinuxResources
from node.runtime.cri_runtime.volumes import MountSpec

MAX_HOSTNAME = 63
PROTOCOLS = {"TCP": pb.TCP, "UDP": pb.UDP, "SCTP": pb.SCTP}


def _md(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return pod.get("metadata") or {}


def hostname(pod: Mapping[str, Any]) -> str:
    spec = pod.get("spec") or {}
    name = str(spec.get("hostname") or _md(pod).get("name") or "")
    return name[:MAX_HOSTNAME].rstrip("-.")


def port_mappings(pod: Mapping[str, Any]) -> list[pb.PortMapping]:
    out = []
    for ctr in (pod.get("spec") or {}).get("containers") or ():
        for port in ctr.get("ports") or ():
            host_port = int(port.get("hostPort") or 0)
            if not host_port:
                continue
            out.append(
                pb.PortMapping(
                    protocol=PROTOCOLS.get(str(port.get("protocol") or "TCP"), pb.TCP),  # type: ignore[arg-type]
                    container_port=int(port.get("containerPort") or 0),
                    host_port=host_port,
                    host_ip=str(port.get("hostIP") or ""),
                )
            )
    return out


def _pid_mode(spec: Mapping[str, Any]) -> int:
    if spec.get("hostPID"):
        return int(pb.NODE)
    return int(pb.POD if spec.get("shareProcessNamespace") else pb.CONTAINER)


def _namespaces(spec: Mapping[str, Any]) -> pb.NamespaceOption:
    return pb.NamespaceOption(
        network=pb.NODE if spec.get("hostNetwork") else pb.POD,  # type: ignore[arg-type]
        pid=_pid_mode(spec),  # type: ignore[arg-type]
        ipc=pb.NODE if spec.get("hostIPC") else pb.POD,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class SandboxParams:
    node_name: str
    log_directory: str
    cgroup_parent: str
    dns: PodDNS
    attempt: int = 0


def sandbox_config(pod: Mapping[str, Any], params: SandboxParams) -> pb.PodSandboxConfig:
    md = _md(pod)
    spec = pod.get("spec") or {}
    name, namespace, uid = str(md.get("name")), str(md.get("namespace")), str(md.get("uid"))
    security = spec.get("securityContext") or {}
    sysctls = {str(s.get("name")): str(s.get("value")) for s in security.get("sysctls") or ()}
    labels = {
        **{str(k): str(v) for k, v in (md.get("labels") or {}).items()},
        **keys.pod_labels(params.node_name, name, namespace, uid),
    }
    dns = params.dns
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(
            name=name, uid=uid, namespace=namespace, attempt=params.attempt
        ),
        hostname=hostname(pod),
        log_directory=params.log_directory,
        dns_config=pb.DNSConfig(servers=dns.servers, searches=dns.searches, options=dns.options),
        port_mappings=port_mappings(pod),
        labels=labels,
        annotations={str(k): str(v) for k, v in (md.get("annotations") or {}).items()},
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=params.cgroup_parent,
            security_context=pb.LinuxSandboxSecurityContext(namespace_options=_namespaces(spec)),
            sysctls=sysctls,
        ),
    )


def container_hash(container: Mapping[str, Any]) -> str:
    """A digest of the container's spec: a changed spec (a new image) restarts it."""
    return hashlib.sha256(json.dumps(container, sort_keys=True).encode()).hexdigest()[:16]


def log_path(container_name: str, restart_count: int) -> str:
    return f"{container_name}/{restart_count}.log"


@dataclass(frozen=True)
class ContainerParams:
    node_name: str
    image_id: str
    restart_count: int
    command: list[str]
    args: list[str]
    env: Mapping[str, str]
    mounts: list[MountSpec]
    resources: LinuxResources


def _security(
    pod: Mapping[str, Any], container: Mapping[str, Any]
) -> pb.LinuxContainerSecurityContext:
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = {**pod_sc, **(container.get("securityContext") or {})}
    out = pb.LinuxContainerSecurityContext(
        privileged=bool(sc.get("privileged")),
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        namespace_options=_namespaces(pod.get("spec") or {}),
    )
    if sc.get("runAsUser") is not None:
        out.run_as_user.CopyFrom(pb.Int64Value(value=int(sc["runAsUser"])))
    if sc.get("runAsGroup") is not None:
        out.run_as_group.CopyFrom(pb.Int64Value(value=int(sc["runAsGroup"])))
    caps = sc.get("capabilities") or {}
    if caps:
        out.capabilities.CopyFrom(
            pb.Capability(
                add_capabilities=[str(c) for c in caps.get("add") or ()],
                drop_capabilities=[str(c) for c in caps.get("drop") or ()],
            )
        )
    return out


def container_config(
    pod: Mapping[str, Any], container: Mapping[str, Any], params: ContainerParams
) -> pb.ContainerConfig:
    md = _md(pod)
    name = str(container.get("name") or "")
    labels = {
        **keys.pod_labels(
            params.node_name, str(md.get("name")), str(md.get("namespace")), str(md.get("uid"))
        ),
        keys.CONTAINER_NAME: name,
    }
    grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    annotations = {
        keys.RESTART_COUNT: str(params.restart_count),
        keys.CONTAINER_HASH: container_hash(container),
        keys.IMAGE: str(container.get("image") or ""),
        keys.TERMINATION_GRACE: str(30 if grace is None else grace),
    }
    res = params.resources
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=params.restart_count),
        image=pb.ImageSpec(image=params.image_id),
        command=params.command,
        args=params.args,
        working_dir=str(container.get("workingDir") or ""),
        envs=[pb.KeyValue(key=k, value=v) for k, v in params.env.items()],
        mounts=[
            pb.Mount(container_path=m.container_path, host_path=m.host_path, readonly=m.read_only)
            for m in params.mounts
        ],
        labels=labels,
        annotations=annotations,
        log_path=log_path(name, params.restart_count),
        stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        tty=bool(container.get("tty")),
        linux=pb.LinuxContainerConfig(
            resources=pb.LinuxContainerResources(
                cpu_shares=res.cpu_shares,
                cpu_quota=res.cpu_quota,
                cpu_period=res.cpu_period,
                memory_limit_in_bytes=res.memory_limit,
                oom_score_adj=res.oom_score_adj,
            ),
            security_context=_security(pod, container),
        ),
    )
