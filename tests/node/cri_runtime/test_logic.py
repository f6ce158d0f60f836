"""The containerd runtime's pure pieces: expansion, backoff, pull policy, resources, env,
volumes, specs. Fast; no containerd."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from kctl.api import errors
from node.network.dns import PodDNS
from node.runtime.cri import api_pb2 as pb
from node.runtime.cri_runtime import keys
from node.runtime.cri_runtime.backoff import Backoff
from node.runtime.cri_runtime.env import PodFacts, build_env, expand_command
from node.runtime.cri_runtime.expansion import expand, mapping_for
from node.runtime.cri_runtime.hostsfile import hosts_content
from node.runtime.cri_runtime.images import default_pull_policy, pull_policy
from node.runtime.cri_runtime.objects import PodObjects
from node.runtime.cri_runtime.problems import ContainerProblem
from node.runtime.cri_runtime.resources import container_resources, pod_resources, qos_class
from node.runtime.cri_runtime.runtime import go_duration, should_restart
from node.runtime.cri_runtime.specs import SandboxParams, hostname, sandbox_config
from node.runtime.cri_runtime.volumes import PodVolumes, container_mounts, write_atomic


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("$(A)", "x"),
        ("$$(A)", "$(A)"),
        ("$(MISSING)", "$(MISSING)"),
        ("a$", "a$"),
        ("$(A", "$(A"),
        ("$$", "$"),
        ("$x$(B)z", "$xyz"),
        ("$(A)$(B)", "xy"),
        ("", ""),
    ],
)
def test_expand_as_kubernetes(text: str, want: str) -> None:
    assert expand(text, mapping_for({"A": "x", "B": "y"})) == want


def test_backoff_doubles_to_the_maximum_and_expires() -> None:
    now = [1000.0]
    b = Backoff(10, 300, clock=lambda: now[0])
    assert b.remaining_since("k", now[0]) == 0  # no failure yet: restart at once
    delays = []
    for _ in range(7):
        b.next("k", now[0])
        delays.append(b.get("k"))
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    assert b.remaining_since("k", now[0] - 100) == 200
    now[0] += 700  # ran cleanly past twice the maximum: start over
    assert b.remaining_since("k", now[0]) == 0
    b.next("k", now[0])
    assert b.get("k") == 10


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("busybox:kctl", "IfNotPresent"),
        ("127.0.0.1:5000/web", "Always"),
        ("127.0.0.1:5000/web:1", "IfNotPresent"),
        ("web@sha256:" + "a" * 64, "IfNotPresent"),
    ],
)
def test_default_pull_policy(image: str, policy: str) -> None:
    assert default_pull_policy(image) == policy
    assert pull_policy({"image": image, "imagePullPolicy": "Never"}) == "Never"


@pytest.mark.parametrize(
    ("policy", "code", "restart"),
    [
        ("Always", 0, True),
        ("Always", 1, True),
        ("OnFailure", 0, False),
        ("OnFailure", 2, True),
        ("Never", 1, False),
    ],
)
def test_should_restart(policy: str, code: int, restart: bool) -> None:
    assert should_restart(policy, code) is restart


@pytest.mark.parametrize(
    ("seconds", "text"), [(10, "10s"), (40, "40s"), (80, "1m20s"), (300, "5m0s")]
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def _pod(*containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
        "spec": {"containers": list(containers)},
    }


def test_resources_and_qos() -> None:
    guaranteed = {"name": "a", "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}}
    burstable = {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "32Mi"}}}
    assert qos_class(_pod(guaranteed)) == "Guaranteed"
    assert qos_class(_pod(burstable)) == "Burstable"
    assert qos_class(_pod({"name": "c"})) == "BestEffort"
    res = container_resources(_pod(guaranteed), guaranteed, 1 << 30)
    assert (res.cpu_shares, res.cpu_quota, res.cpu_period, res.memory_limit) == (
        512,
        50000,
        100000,
        64 << 20,
    )
    assert res.oom_score_adj == -997
    res = container_resources(_pod(burstable), burstable, 1 << 30)
    assert (res.cpu_shares, res.cpu_quota, res.memory_limit) == (256, 0, 0)
    assert res.oom_score_adj == 1000 - (1000 * (32 << 20)) // (1 << 30)
    assert container_resources(_pod({"name": "c"}), {"name": "c"}, 0).cpu_shares == 2
    # pod level: a limit only when every container has one
    assert pod_resources(_pod(guaranteed, burstable)).memory_limit == 0
    assert pod_resources(_pod(guaranteed, guaranteed)).memory_limit == 128 << 20


class FakeApi:
    def __init__(self, objects: dict[tuple[str, str], dict[str, Any]]) -> None:
        self.objects = objects
        self.calls = 0

    async def get(self, info: Any, name: str, namespace: str) -> dict[str, Any]:
        self.calls += 1
        try:
            return self.objects[(info.plural, name)]
        except KeyError:
            raise errors.NotFound(f'{info.plural} "{name}" not found') from None


API = FakeApi(
    {
        ("configmaps", "cm"): {"data": {"color": "blue", "bad key": "x"}},
        ("secrets", "sec"): {"data": {"pw": base64.b64encode(b"s3cret").decode()}},
    }
)
FACTS = PodFacts(
    pod_ip="10.250.8.5", host_ip="127.0.0.1", node_allocatable={"cpu": "2", "memory": "1Gi"}
)


def test_env_order_sources_and_expansion() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"app": "x"}},
        "spec": {"nodeName": "n1", "serviceAccountName": "sa"},
    }
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}],
        "env": [
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "pw"}}},
            {
                "name": "OPT",
                "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}},
            },
            {
                "name": "MEM",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
            {"name": "MSG", "value": "$(NAME)@$(IP) $(LATER) $$(NAME)"},
            {"name": "LATER", "value": "x"},
        ],
        "command": ["echo", "$(MSG)"],
        "args": ["$(CM_color)"],
    }
    env = asyncio.run(build_env(pod, container, PodObjects(API, "ns"), FACTS))
    assert env["CM_color"] == "blue" and "CM_bad key" not in env
    assert (env["NAME"], env["IP"], env["APP"], env["SA"], env["PW"]) == (
        "p",
        "10.250.8.5",
        "x",
        "sa",
        "s3cret",
    )
    assert "OPT" not in env
    assert env["MEM"] == "1024"
    assert env["MSG"] == "p@10.250.8.5 $(LATER) $(NAME)"
    assert expand_command(container, env) == (["echo", "p@10.250.8.5 $(LATER) $(NAME)"], ["blue"])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"configMapKeyRef": {"name": "nope", "key": "k"}}, 'configmap "nope" not found'),
        ({"configMapKeyRef": {"name": "cm", "key": "k"}}, "couldn't find key k in ConfigMap ns/cm"),
        ({"secretKeyRef": {"name": "sec", "key": "k"}}, "couldn't find key k in Secret ns/sec"),
        ({"secretKeyRef": {"name": "nope", "key": "k"}}, 'secret "nope" not found'),
    ],
)
def test_env_missing_is_create_container_config_error(source: dict[str, Any], message: str) -> None:
    container = {"name": "c", "env": [{"name": "X", "valueFrom": source}]}
    with pytest.raises(ContainerProblem) as info:
        asyncio.run(build_env(_pod(container), container, PodObjects(API, "ns"), FACTS))
    assert info.value.reason == "CreateContainerConfigError"
    assert info.value.message == message


def test_atomic_writer_layout_and_rewrite(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    write_atomic(target, {"a": (b"1", 0o644), "dir/b": (b"2", 0o600)})
    assert (target / "a").read_text() == "1" and (target / "dir" / "b").read_text() == "2"
    assert (target / "a").is_symlink() and (target / "..data").is_symlink()
    first = (target / "..data").readlink()
    write_atomic(target, {"a": (b"3", 0o644)})
    assert (target / "a").read_text() == "3"
    assert not (target / "dir").exists() and not (target / first).exists()


def test_volumes_and_mounts(tmp_path: Path) -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
        "spec": {
            "volumes": [
                {"name": "cache", "emptyDir": {}},
                {
                    "name": "cfg",
                    "configMap": {"name": "cm", "items": [{"key": "color", "path": "c/color"}]},
                },
                {
                    "name": "host",
                    "hostPath": {"path": str(tmp_path / "h"), "type": "DirectoryOrCreate"},
                },
                {"name": "gone", "secret": {"secretName": "nope", "optional": True}},
            ]
        },
    }
    volumes = asyncio.run(PodVolumes(tmp_path / "pod").setup(pod, PodObjects(API, "ns")))
    assert (volumes["cfg"].path / "c" / "color").read_text() == "blue"
    assert (tmp_path / "h").is_dir()
    container = {
        "name": "c",
        "volumeMounts": [
            {"name": "cache", "mountPath": "/cache", "subPath": "sub"},
            {"name": "cfg", "mountPath": "/cfg"},
            {"name": "host", "mountPath": "/h", "readOnly": True},
        ],
    }
    mounts = {m.container_path: m for m in container_mounts(container, volumes)}
    assert mounts["/cache"].host_path.endswith("kubernetes.io~empty-dir/cache/sub")
    assert Path(mounts["/cache"].host_path).is_dir()
    assert [mounts[p].read_only for p in ("/cache", "/cfg", "/h")] == [False, True, True]
    missing = {**pod, "spec": {"volumes": [{"name": "v", "configMap": {"name": "nope"}}]}}
    with pytest.raises(ContainerProblem) as info:
        asyncio.run(PodVolumes(tmp_path / "pod2").setup(missing, PodObjects(API, "ns")))
    assert (
        info.value.message == 'MountVolume.SetUp failed for volume "v" : configmap "nope" not found'
    )


def test_sandbox_config_carries_the_pod() -> None:
    pod = {
        "metadata": {
            "name": "web-" + "x" * 70,
            "namespace": "ns",
            "uid": "u1",
            "labels": {"app": "w"},
        },
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}],
                }
            ],
            "hostNetwork": False,
        },
    }
    params = SandboxParams(
        "n1",
        "/logs",
        "/kctl/n1/podu1",
        PodDNS(["10.96.0.10"], ["ns.svc.cluster.local"], ["ndots:5"]),
    )
    config = sandbox_config(pod, params)
    assert len(config.hostname) <= 63 and config.hostname == hostname(pod)
    assert config.labels[keys.POD_UID] == "u1" and config.labels["app"] == "w"
    assert config.labels[keys.NODE] == "n1"
    assert [(p.container_port, p.host_port) for p in config.port_mappings] == [(80, 8080)]
    assert config.linux.cgroup_parent == "/kctl/n1/podu1"
    assert list(config.dns_config.servers) == ["10.96.0.10"]
    assert config.linux.security_context.namespace_options.network == pb.POD


def test_hosts_file() -> None:
    text = hosts_content(
        {"spec": {"hostAliases": [{"ip": "10.0.0.9", "hostnames": ["db", "db.local"]}]}},
        "10.250.8.5",
        "web",
    )
    assert "127.0.0.1\tlocalhost\n" in text and "10.250.8.5\tweb\n" in text
    assert text.endswith("10.0.0.9\tdb db.local\n")
