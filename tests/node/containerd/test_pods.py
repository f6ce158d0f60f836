"""Real pods on a containerd node (issue 5, acceptance): kubelet behaviour seen through the API.

One agent and containerd serve the module (tests/node/containerd/conftest.py). Pods are
bound by hand (``spec.nodeName``), so no reconciler runs; images are the local busybox
(``imagePullPolicy: Never``) or come from the loopback registry.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kctl.client.resources import CONFIGMAPS, NODES, PODS, SECRETS
from node.runtime.cri_runtime import cgroups
from tests.node.containerd.conftest import IMAGE, NODE, ContainerdNode, kctl, wait_for

pytestmark = pytest.mark.slow

HTTPD = 'trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait'
SLEEPER = 'trap "exit 0" TERM; sleep 1000 & wait'


def container(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": IMAGE,
        "imagePullPolicy": "Never",
        "command": ["sh", "-c", script],
        **extra,
    }


def new_pod(name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {
            "nodeName": NODE,
            "terminationGracePeriodSeconds": 5,
            "containers": list(containers),
            **spec,
        },
    }


def condition(pod: dict[str, Any], kind: str) -> str:
    for cond in pod.get("status", {}).get("conditions", []):
        if cond["type"] == kind:
            return str(cond["status"])
    return ""


def status_of(pod: dict[str, Any], name: str) -> dict[str, Any]:
    for cs in pod.get("status", {}).get("containerStatuses", []):
        if cs["name"] == name:
            return dict(cs)
    return {}


def delete_and_wait(cnode: ContainerdNode, name: str) -> None:
    cnode.client.delete(PODS, name, "default")
    wait_for(f"pod {name} gone", lambda: _gone(cnode, name), 30)


def _gone(cnode: ContainerdNode, name: str) -> bool:
    try:
        cnode.pod(name)
    except Exception:
        return True
    return False


def web_pod(name: str) -> dict[str, Any]:
    page = container(
        "page",
        "echo hello from $(POD_NAME) > /www/index.html",
        env=[{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        volumeMounts=[{"name": "www", "mountPath": "/www"}],
    )
    web = container(
        "web",
        HTTPD,
        ports=[{"containerPort": 8080, "name": "http"}],
        volumeMounts=[{"name": "www", "mountPath": "/www"}],
        readinessProbe={"httpGet": {"port": "http", "path": "/"}, "periodSeconds": 1},
    )
    return new_pod(name, web, initContainers=[page], volumes=[{"name": "www", "emptyDir": {}}])


def running_ready(cnode: ContainerdNode, name: str) -> dict[str, Any] | None:
    pod = cnode.pod(name)
    if pod.get("status", {}).get("phase") == "Running" and condition(pod, "Ready") == "True":
        return pod
    return None


def test_two_httpd_pods_run_ready_and_answer_on_their_ip(cnode: ContainerdNode) -> None:
    names = ["web-a", "web-b"]
    for name in names:
        cnode.client.create(PODS, web_pod(name), "default")
    try:
        pods = [
            wait_for(f"{n} Running and Ready", lambda n=n: running_ready(cnode, n)) for n in names
        ]
        ips = [p["status"]["podIP"] for p in pods]
        assert len(set(ips)) == 2 and all(ip.startswith("10.250.8.") for ip in ips)
        for name, pod, ip in zip(names, pods, ips, strict=True):
            with httpx.Client(trust_env=False, timeout=5) as http:
                assert http.get(f"http://{ip}:8080/").text == f"hello from {name}\n"
            assert pod["status"]["hostIP"] == "127.0.0.1"
            init = pod["status"]["initContainerStatuses"][0]
            assert init["state"]["terminated"]["reason"] == "Completed"
            web = status_of(pod, "web")
            assert web["containerID"].startswith("containerd://") and web["restartCount"] == 0
            assert web["imageID"].startswith("sha256:")
            log = (
                cnode.data_dir
                / "pods"
                / f"default_{name}_{pod['metadata']['uid']}"
                / "page"
                / "0.log"
            )
            assert log.exists()
    finally:
        for name in names:
            delete_and_wait(cnode, name)


def test_crash_loop_liveness_and_readiness(cnode: ContainerdNode) -> None:
    crasher = new_pod("crasher", container("main", "echo boom; exit 1"))
    liveness = new_pod(
        "liveness",
        container(
            "main",
            SLEEPER,
            livenessProbe={
                "exec": {"command": ["cat", "/tmp/absent"]},
                "periodSeconds": 1,
                "failureThreshold": 1,
            },
        ),
        terminationGracePeriodSeconds=2,
    )
    unready = new_pod(
        "unready",
        container(
            "main", SLEEPER, readinessProbe={"exec": {"command": ["false"]}, "periodSeconds": 1}
        ),
    )
    for pod in (crasher, liveness, unready):
        cnode.client.create(PODS, pod, "default")
    try:

        def crash_looping() -> dict[str, Any] | None:
            cs = status_of(cnode.pod("crasher"), "main")
            waiting = cs.get("state", {}).get("waiting", {})
            if waiting.get("reason") == "CrashLoopBackOff" and cs["restartCount"] >= 2:
                return cs
            return None

        cs = wait_for("CrashLoopBackOff with 2 restarts", crash_looping, 45)
        assert cs["lastState"]["terminated"]["exitCode"] == 1
        assert cs["lastState"]["terminated"]["reason"] == "Error"
        assert (
            "back-off 20s restarting failed container=main pod=crasher_default"
            in cs["state"]["waiting"]["message"]
        )
        assert cnode.pod("crasher")["status"]["phase"] == "Running"

        def restarted() -> dict[str, Any] | None:
            cs = status_of(cnode.pod("liveness"), "main")
            return cs if cs.get("restartCount", 0) >= 1 and "running" in cs["state"] else None

        cs = wait_for("liveness restart", restarted, 30)
        assert "terminated" in cs["lastState"]

        pod = wait_for(
            "unready pod running",
            lambda: (
                cnode.pod("unready")
                if status_of(cnode.pod("unready"), "main").get("started")
                else None
            ),
        )
        time.sleep(2.5)
        pod = cnode.pod("unready")
        assert condition(pod, "Ready") == "False"
        assert condition(pod, "ContainersReady") == "False"
        assert status_of(pod, "main")["ready"] is False
        assert status_of(pod, "main")["restartCount"] == 0
    finally:
        for name in ("crasher", "liveness", "unready"):
            delete_and_wait(cnode, name)


def _leftovers(cnode: ContainerdNode, uid: str, ip: str) -> list[str]:
    found = []

    async def listing(cri: Any) -> tuple[list[Any], list[Any]]:
        labels = {"io.kubernetes.pod.uid": uid}
        return await cri.list_pod_sandboxes(labels=labels), await cri.list_containers(labels=labels)

    sandboxes, containers = cnode.cri(listing)
    if sandboxes:
        found.append(f"sandboxes {[s.id for s in sandboxes]}")
    if containers:
        found.append(f"containers {[c.id for c in containers]}")
    ports = subprocess.run(
        ["ip", "-o", "link", "show", "master", cnode.bridge], capture_output=True, text=True
    ).stdout
    if ports.strip():
        found.append(f"veths {ports.strip()}")
    netns = cnode.data_dir / "containerd" / "state"
    held = [p for p in netns.rglob("cni-*") if p.is_file()] if netns.exists() else []
    if held:
        found.append(f"netns {held}")
    if subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.count("cni-"):
        found.append("netns in /run/netns")
    ipam = list((cnode.data_dir / "cni" / "networks").rglob(ip))
    if ipam:
        found.append(f"IPAM record {ipam}")
    pod_cgroups = cgroups.existing(cgroups.pod_parent(cnode.cgroup_parent, uid))
    if pod_cgroups:
        found.append(f"cgroups {pod_cgroups}")
    if (cnode.data_dir / "pods" / uid).exists():
        found.append("volume dir")
    return found


def test_deletion_within_grace_leaves_nothing(cnode: ContainerdNode) -> None:
    cnode.client.create(PODS, web_pod("doomed"), "default")
    pod = wait_for("doomed Ready", lambda: running_ready(cnode, "doomed"))
    uid, ip = pod["metadata"]["uid"], pod["status"]["podIP"]
    started = time.monotonic()
    delete_and_wait(cnode, "doomed")
    assert time.monotonic() - started < 5  # grace period 5 s; the TERM trap exits at once
    wait_for("no leftovers", lambda: not _leftovers(cnode, uid, ip) or None, 10)


def test_agent_kill_9_and_restart_adopts_containers(cnode: ContainerdNode) -> None:
    cnode.client.create(PODS, web_pod("survivor"), "default")
    try:
        before = wait_for("survivor Ready", lambda: running_ready(cnode, "survivor"))
        containerd_pid = (cnode.data_dir / "containerd.pid").read_text().strip()
        assert cnode.agent is not None
        cnode.agent.stop(signal.SIGKILL)
        assert Path(f"/proc/{containerd_pid}").exists()  # containerd survives the agent
        cnode.start_agent()
        # Status reporting resumes: a pod created after the restart runs.
        cnode.client.create(PODS, new_pod("after", container("main", SLEEPER)), "default")
        wait_for("pod after Running", lambda: running_ready(cnode, "after"), 60)
        after = cnode.pod("survivor")
        for field in ("containerID", "restartCount"):
            assert status_of(after, "web")[field] == status_of(before, "web")[field]
        assert status_of(after, "web")["state"] == status_of(before, "web")["state"]
        assert (cnode.data_dir / "containerd.pid").read_text().strip() == containerd_pid
        assert "adopting containerd" in cnode.agents[-1].logs()
    finally:
        for name in ("survivor", "after"):
            delete_and_wait(cnode, name)


def test_missing_image_backs_off_then_starts_once_pushed(cnode: ContainerdNode) -> None:
    image = f"{cnode.registry.address}/kctl/late:1"
    pod = new_pod("late", {"name": "main", "image": image, "command": ["sh", "-c", SLEEPER]})
    cnode.client.create(PODS, pod, "default")
    try:
        # Each status the agent writes, in order (ErrImagePull lasts one sync only).
        seen: list[dict[str, Any]] = []
        for _, obj in cnode.client.watch(
            PODS, "default", field_selector="metadata.name=late", timeout_seconds=30
        ):
            waiting = status_of(obj, "main").get("state", {}).get("waiting", {})
            if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff"):
                if not seen or seen[-1]["reason"] != waiting["reason"]:
                    seen.append(waiting)
            if len(seen) >= 2:
                break
        assert [w["reason"] for w in seen] == ["ErrImagePull", "ImagePullBackOff"], seen
        assert image in seen[0]["message"] and "not found" in seen[0]["message"]
        assert seen[1]["message"].startswith(f'Back-off pulling image "{image}": ErrImagePull: ')
        kctl(
            "image",
            "push",
            str(cnode.archive),
            "--registry",
            cnode.registry.address,
            "-t",
            "kctl/late:1",
        )
        wait_for("late Running", lambda: running_ready(cnode, "late"), 60)
    finally:
        delete_and_wait(cnode, "late")


def test_env_and_projected_volumes_inside_the_container(cnode: ContainerdNode) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"color": "blue", "size": "9"},
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "data": {"password": base64.b64encode(b"s3cret").decode()},
    }
    cnode.client.create(CONFIGMAPS, cm, "default")
    cnode.client.create(SECRETS, secret, "default")
    main = container(
        "main",
        SLEEPER,
        env=[
            {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "MY_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "MY_NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {
                "name": "COLOR",
                "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}},
            },
            {
                "name": "PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}},
            },
            {"name": "GREETING", "value": "$(MY_NAME) likes $(COLOR), $$(COLOR) $(NOPE)"},
        ],
        envFrom=[{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
        workingDir="/etc/config",
        volumeMounts=[
            {"name": "config", "mountPath": "/etc/config"},
            {"name": "secret", "mountPath": "/etc/secret"},
        ],
    )
    pod = new_pod(
        "envy",
        main,
        volumes=[
            {"name": "config", "configMap": {"name": "settings"}},
            {
                "name": "secret",
                "secret": {"secretName": "creds", "items": [{"key": "password", "path": "pw"}]},
            },
        ],
    )
    cnode.client.create(PODS, pod, "default")
    try:
        running = wait_for("envy Running", lambda: running_ready(cnode, "envy"))
        cid = status_of(running, "main")["containerID"].split("://", 1)[1]

        def run(*cmd: str) -> tuple[int, str]:
            result = cnode.cri(lambda cri: cri.exec_sync(cid, list(cmd), 5))
            return result.exit_code, result.stdout.decode()

        code, env_text = run("env")
        env = dict(line.split("=", 1) for line in env_text.splitlines() if "=" in line)
        assert code == 0
        assert env["MY_NAME"] == "envy" and env["MY_NS"] == "default" and env["MY_NODE"] == NODE
        assert env["MY_IP"] == running["status"]["podIP"]
        assert env["COLOR"] == "blue" and env["PASSWORD"] == "s3cret"
        assert env["CFG_color"] == "blue" and env["CFG_size"] == "9"
        assert env["GREETING"] == "envy likes blue, $(COLOR) $(NOPE)"
        assert run("cat", "/etc/config/color") == (0, "blue")
        assert run("cat", "/etc/secret/pw") == (0, "s3cret")
        assert run("pwd") == (0, "/etc/config\n")
        assert (
            run("sh", "-c", "touch /etc/config/new")[0] != 0
        )  # read-only, as Kubernetes mounts it
        assert run("cat", "/etc/hostname")[1].strip() == "envy"
    finally:
        delete_and_wait(cnode, "envy")
        cnode.client.delete(CONFIGMAPS, "settings", "default")
        cnode.client.delete(SECRETS, "creds", "default")


def test_node_reports_machine_and_data_dir(cnode: ContainerdNode) -> None:
    node = cnode.client.get(NODES, NODE)
    assert node["metadata"]["annotations"]["kctl.dev/data-dir"] == str(cnode.data_dir)
    assert node["status"]["capacity"]["cpu"] == str(os.cpu_count())
    assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
