"""``kctl wait`` side by side with kubectl 1.32: conditions, jsonpath, delete, create, timeouts."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from tests.cli import kubeobjects as ko
from tests.cli.kubeobjects import Api, Result, Runner, both
from tests.fixtures.apiserver import ApiServerProcess

pytestmark = pytest.mark.kubectl
api_fixture = ko.api_fixture
kc_fixture = ko.kc_fixture
AVAILABLE = {
    "type": "Available",
    "status": "True",
    "reason": "MinimumReplicasAvailable",
    "message": "ok",
    "lastUpdateTime": "2026-01-01T00:00:00Z",
    "lastTransitionTime": "2026-01-01T00:00:00Z",
}


@pytest.fixture
def ns(api: Api) -> str:
    name = api.namespace(ko.fresh_name("wait"))
    web = api.deployment(name, "web", replicas=3)
    api.replica_set(name, web, 1, "nginx:1.21")
    api.replica_set(name, web, 2, "nginx:1.25")
    return name


@pytest.mark.parametrize(
    "args",
    [
        ("deploy/web", "--for=condition=Available", "--timeout=500ms"),
        ("deploy", "web", "--for=condition=Available=false", "--timeout=500ms"),
        ("deploy/nope", "--for=condition=Available", "--timeout=500ms"),
        ("deploy/web", "--for=delete", "--timeout=500ms"),
        ("deploy/nope", "--for=delete", "--timeout=500ms"),
        ("deploy/web", "--for=create", "--timeout=500ms"),
        ("deploy/web", "--for=jsonpath={.spec.replicas}=3", "--timeout=500ms"),
        ("deploy/web", "--for=jsonpath={.spec.replicas}=2", "--timeout=500ms"),
        ("deploy/web", "--for=jsonpath=.spec.replicas=3", "--timeout=500ms"),
        ("deploy/web", "--for=jsonpath={.spec.replicas}", "--timeout=500ms"),
        ("deploy/web", "--for=jsonpath={.spec.bogus}", "--timeout=500ms"),
        (
            "deploy/web",
            "--for=jsonpath={.spec.template.spec.containers[0].name}=main",
            "--timeout=500ms",
        ),
        ("deploy/web", "--for=jsonpath={.spec}=x", "--timeout=500ms"),
        ("deploy/web", "--for=bogus", "--timeout=500ms"),
        ("deploy/web", "--timeout=500ms"),
        ("deploy", "-l", "app=none", "--for=condition=Available", "--timeout=500ms"),
        ("deploy", "--all", "--for=jsonpath={.spec.replicas}=3", "--timeout=500ms"),
        ("rs", "--all", "--for=jsonpath={.spec.replicas}=0", "--timeout=500ms"),
        ("rs", "--all", "--for=jsonpath={.spec.replicas}=1", "--timeout=500ms"),  # two timeouts
        ("deploy/web", "rs/web-h1", "--for=jsonpath={.spec.replicas}=3", "--timeout=500ms"),
        ("deploy/web", "--for=condition=Available", "--timeout=0"),
        ("deploy/web", "--for=jsonpath={.metadata.labels.app}=web", "-o", "name"),
    ],
)
def test_wait_like_kubectl(kc: Runner, kubectl: Runner, ns: str, args: tuple[str, ...]) -> None:
    both(kc, kubectl, "-n", ns, "wait", *args)


def background(argv: list[str], apiserver: ApiServerProcess) -> subprocess.Popen[str]:
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig), "NO_COLOR": "1"}
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def in_thread(kc: Runner, *args: str) -> tuple[threading.Thread, list[Result]]:
    results: list[Result] = []
    thread = threading.Thread(target=lambda: results.append(kc(*args, check=False)))
    thread.start()
    return thread, results


def finish(proc: subprocess.Popen[str], thread: threading.Thread, ours: list[Result]) -> Result:
    out, err = proc.communicate(timeout=30)
    thread.join(30)
    assert (ours[0].returncode, ours[0].stdout, ours[0].stderr) == (proc.returncode, out, err)
    return ours[0]


@pytest.mark.parametrize(
    "condition",
    [
        "--for=condition=available",
        '--for=jsonpath={.status.conditions[?(@.type=="Available")].status}=True',
    ],
)
def test_waits_until_the_condition_holds(
    api: Api, apiserver: ApiServerProcess, kc: Runner, ns: str, condition: str
) -> None:
    proc = background(
        ["kubectl", "-n", ns, "wait", "deploy/web", condition, "--timeout=20s"], apiserver
    )
    thread, ours = in_thread(kc, "-n", ns, "wait", "deploy/web", condition, "--timeout=20s")
    time.sleep(1.0)
    api.deployment_status(ns, "web", {"conditions": [AVAILABLE]})
    assert finish(proc, thread, ours).stdout == "deployment.apps/web condition met\n"


def test_a_stale_condition_does_not_count(api: Api, kc: Runner, ns: str) -> None:
    api.deployment_status(ns, "web", {"observedGeneration": 0, "conditions": [AVAILABLE]})
    result = kc(
        "-n", ns, "wait", "deploy/web", "--for=condition=Available", "--timeout=1s", check=False
    )
    assert (result.returncode, result.stderr) == (
        1,
        "error: timed out waiting for the condition on deployments/web\n",
    )


def test_waits_for_deletion_and_creation(api: Api, apiserver: ApiServerProcess, kc: Runner) -> None:
    ours, theirs = api.namespace(ko.fresh_name("wait")), api.namespace(ko.fresh_name("wait"))
    for name in (ours, theirs):
        api.send(
            "POST",
            f"/api/v1/namespaces/{name}/configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old"}},
        )
    waits = [("cm/old", "--for=delete"), ("cm/new", "--for=create")]
    for target, condition in waits:
        proc = background(
            ["kubectl", "-n", theirs, "wait", target, condition, "--timeout=20s"], apiserver
        )
        thread, result = in_thread(kc, "-n", ours, "wait", target, condition, "--timeout=20s")
        time.sleep(1.0)
        for name in (ours, theirs):
            if condition == "--for=delete":
                api.send("DELETE", f"/api/v1/namespaces/{name}/configmaps/old")
            else:
                api.send(
                    "POST",
                    f"/api/v1/namespaces/{name}/configmaps",
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}},
                )
        assert finish(proc, thread, result).stdout == f"configmap/{target[3:]} condition met\n"


def test_wait_as_a_process(kctl: Runner, kubectl: Runner, ns: str) -> None:
    """The real command line end to end: condition met, timeout, not found."""
    assert both(kctl, kubectl, "-n", ns, "wait", "deploy/web", "--for=create").returncode == 0
    assert (
        both(
            kctl,
            kubectl,
            "-n",
            ns,
            "wait",
            "deploy/web",
            "--for=condition=Available",
            "--timeout=1s",
        ).returncode
        == 1
    )
    assert (
        both(kctl, kubectl, "-n", ns, "wait", "deploy/nope", "--for=condition=Available").returncode
        == 1
    )
