"""``kctl rollout`` side by side with kubectl 1.32.

No deployment controller runs here, so each Deployment's history is written the way the
controller writes it: ReplicaSets owned by the Deployment, numbered by the
``deployment.kubernetes.io/revision`` annotation, explained by
``kubernetes.io/change-cause``; and its status through the status subresource.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.cli import kubeobjects as ko
from tests.cli.kubeobjects import Api, Runner, both, twin
from tests.fixtures.apiserver import ApiServerProcess

pytestmark = pytest.mark.kubectl
api_fixture = ko.api_fixture
kc_fixture = ko.kc_fixture
DEPLOY = "/apis/apps/v1/namespaces/{ns}/deployments/{name}"


def with_history(api: Api, ns: str, name: str = "web") -> dict[str, Any]:
    """A Deployment at revision 3 (nginx:1.25) with revisions 1 and 2 behind it."""
    deployment = api.deployment(ns, name, image="nginx:1.25")
    api.replica_set(ns, deployment, 1, "nginx:1.21")
    api.replica_set(
        ns, deployment, 2, "nginx:1.22", cause="kubectl set image deploy/web main=nginx:1.22"
    )
    api.replica_set(ns, deployment, 3, "nginx:1.25")
    return deployment


@pytest.fixture
def pair(api: Api) -> tuple[str, str]:
    namespaces = (api.namespace(ko.fresh_name("rollout")), api.namespace(ko.fresh_name("rollout")))
    for ns in namespaces:
        with_history(api, ns)
        api.deployment(ns, "fresh")  # no ReplicaSets at all
    return namespaces


def template(api: Api, ns: str, name: str = "web") -> dict[str, Any]:
    """The stored pod template; kubectl's undo sends ``creationTimestamp: null`` (Go's
    zero time), which a Go server drops and kctl's keeps, so it is left out here."""
    found = dict(api.get(DEPLOY.format(ns=ns, name=name))["spec"]["template"])
    found["metadata"] = {k: v for k, v in found["metadata"].items() if v is not None}
    return found


@pytest.mark.parametrize(
    "args",
    [
        ("rollout", "history", "deploy", "web"),
        ("rollout", "history", "deployment/web", "--revision=2"),
        ("rollout", "history", "deploy/web", "--revision=7"),
        ("rollout", "history", "deploy", "fresh"),
        ("rollout", "history", "deploy"),  # every Deployment
        ("rollout", "history", "deploy", "nope"),
        ("rollout", "history", "rs", "web-h1"),
        ("rollout", "history", "deploy/web", "svc"),
        ("rollout", "history"),
        ("rollout", "undo", "deploy", "web", "--to-revision=9"),
        ("rollout", "undo", "deploy", "web", "--to-revision=1", "--dry-run=client"),
        ("rollout", "undo", "deploy", "fresh"),
        ("rollout", "undo", "rs", "web-h1"),
        ("rollout", "pause", "rs", "web-h1"),
        ("rollout", "restart", "rs", "web-h1"),
        ("rollout", "status", "rs/web-h1"),
        ("rollout", "status", "deploy/nope"),
        ("rollout", "status", "deploy/web", "--watch=false"),
        ("rollout", "status", "deploy/web", "--revision=2", "--watch=false"),
        ("rollout", "status", "deploy/web", "--timeout=1s"),
        ("rollout", "resume", "deploy", "-l", "app=none"),
        ("rollout", "history", "deploy", "-l", "app=none"),
        ("rollout", "undo", "deploy", "-l", "app=none"),
    ],
)
def test_reads_and_errors_like_kubectl(
    kc: Runner, kubectl: Runner, pair: tuple[str, str], args: tuple[str, ...]
) -> None:
    both(kc, kubectl, "-n", pair[0], *args)


def test_history_table(kc: Runner, pair: tuple[str, str]) -> None:
    assert kc("-n", pair[0], "rollout", "history", "deploy/web").stdout == (
        "deployment.apps/web \n"
        "REVISION  CHANGE-CAUSE\n"
        "1         <none>\n"
        "2         kubectl set image deploy/web main=nginx:1.22\n"
        "3         <none>\n"
        "\n"
    )


def test_undo_pause_resume_restart_like_kubectl(
    api: Api, kc: Runner, kubectl: Runner, pair: tuple[str, str]
) -> None:
    def same_template() -> dict[str, Any]:
        ours, theirs = template(api, pair[0]), template(api, pair[1])
        assert ours == theirs
        return ours

    twin(kc, kubectl, pair, "rollout", "undo", "deploy", "web")  # back to revision 2
    restored = same_template()
    assert restored["spec"]["containers"][0]["image"] == "nginx:1.22"
    assert "pod-template-hash" not in restored["metadata"]["labels"]
    assert restored["metadata"]["annotations"] == {"revision": "r2"}
    for ns in pair:  # the Deployment's annotations are now the ReplicaSet's (minus revision)
        annotations = api.get(DEPLOY.format(ns=ns, name="web"))["metadata"]["annotations"]
        assert annotations == {
            "kubernetes.io/change-cause": "kubectl set image deploy/web main=nginx:1.22"
        }
    twin(kc, kubectl, pair, "rollout", "undo", "deploy", "web", "--to-revision=2")  # skipped
    twin(
        kc, kubectl, pair, "rollout", "undo", "deploy", "web", "--to-revision=1", "--dry-run=server"
    )
    twin(kc, kubectl, pair, "rollout", "pause", "deploy", "web")
    twin(
        kc, kubectl, pair, "rollout", "pause", "deploy", "web", "nope"
    )  # already paused + not found
    twin(kc, kubectl, pair, "rollout", "restart", "deploy", "web")  # paused: refused
    undo = kc("-n", pair[0], "rollout", "undo", "deploy/web", check=False)
    assert (undo.returncode, undo.stderr) == (
        1,
        (
            "error: you cannot rollback a paused deployment; resume it first with "
            "'kctl rollout resume' and try again\n"
        ),
    )
    twin(kc, kubectl, pair, "rollout", "resume", "deploy", "web")
    twin(kc, kubectl, pair, "rollout", "resume", "deploy/web", "-o", "name")  # not paused
    for ns in pair:
        assert "paused" not in api.get(DEPLOY.format(ns=ns, name="web"))["spec"]
    twin(kc, kubectl, pair, "rollout", "restart", "deploy", "web")
    for ns in pair:
        stamp = template(api, ns)["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
        assert time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
    twin(kc, kubectl, pair, "rollout", "undo", "deploy", "web", "--to-revision=1")
    assert same_template()["spec"]["containers"][0]["image"] == "nginx:1.21"


def status_steps(api: Api, namespaces: tuple[str, ...]) -> None:
    """Walk the Deployments through a rollout, as the controller would report it."""
    for status in (
        {"replicas": 3, "updatedReplicas": 1},
        {"replicas": 4, "updatedReplicas": 3},
        {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 1},
        {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 3},
    ):
        time.sleep(0.4)
        for ns in namespaces:
            api.deployment_status(ns, "web", status)


def test_status_follows_the_rollout_like_kubectl(
    api: Api, apiserver: ApiServerProcess, pair: tuple[str, str]
) -> None:
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig), "NO_COLOR": "1"}
    commands = (
        [sys.executable, "-m", "kctl.cli.main", "-n", pair[0]],
        ["kubectl", "-n", pair[1]],
    )
    procs = [
        subprocess.Popen(
            [*cmd, "rollout", "status", "deploy/web", "--timeout=30s"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for cmd in commands
    ]
    # both are watching once they have reported the first state
    first = [proc.stdout.readline() for proc in procs if proc.stdout]
    status_steps(api, pair)
    results = []
    for proc, line in zip(procs, first, strict=True):
        out, err = proc.communicate(timeout=30)
        results.append((proc.returncode, line + out, err))
    assert results[0] == results[1]
    assert results[0][1] == (
        "Waiting for deployment spec update to be observed...\n"
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...\n'
        'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...\n'
        'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...\n'
        'deployment "web" successfully rolled out\n'
    )


def test_status_reports_a_deadline_exceeded(
    api: Api, kc: Runner, kubectl: Runner, pair: tuple[str, str]
) -> None:
    api.deployment_status(
        pair[0],
        "web",
        {
            "conditions": [
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": "too slow",
                    "lastUpdateTime": "2026-01-01T00:00:00Z",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ]
        },
    )
    result = both(kc, kubectl, "-n", pair[0], "rollout", "status", "deploy/web")
    assert (result.returncode, result.stderr) == (
        1,
        'error: deployment "web" exceeded its progress deadline\n',
    )


def test_rollout_as_a_process(kctl: Runner, kubectl: Runner, pair: tuple[str, str]) -> None:
    """The real command line end to end: success and not-found exit codes."""
    twin(kctl, kubectl, pair, "rollout", "history", "deploy/web")
    twin(kctl, kubectl, pair, "rollout", "pause", "deploy/web")
    assert twin(kctl, kubectl, pair, "rollout", "undo", "deploy/nope").returncode == 1
