"""``kctl scale`` side by side with kubectl 1.32: outputs, exit codes and the stored size agree."""

from __future__ import annotations

import pytest

from tests.cli import kubeobjects as ko
from tests.cli.kubeobjects import Api, Runner, both, twin
from tests.fixtures.apiserver import ApiServerProcess

pytestmark = pytest.mark.kubectl
api_fixture = ko.api_fixture
kc_fixture = ko.kc_fixture


@pytest.fixture
def pair(api: Api) -> tuple[str, str]:
    """Two namespaces holding the same Deployments: one for kctl, one for kubectl."""
    namespaces = (api.namespace(ko.fresh_name("scale")), api.namespace(ko.fresh_name("scale")))
    for ns in namespaces:
        api.deployment(ns, "web", replicas=3)
        api.deployment(ns, "api", replicas=1)
    return namespaces


def replicas(api: Api, ns: str, name: str) -> int:
    return int(api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")["spec"]["replicas"])


def test_scale_changes_the_size_like_kubectl(
    api: Api, kc: Runner, kubectl: Runner, pair: tuple[str, str]
) -> None:
    steps = [
        ("scale", "deploy", "web", "--replicas=2"),
        ("scale", "deployment/web", "--replicas=4", "--current-replicas=2"),
        ("scale", "deploy", "web", "--replicas=5", "--current-replicas=3"),  # precondition fails
        ("scale", "deploy", "--all", "--replicas=2", "-o", "name"),
        ("scale", "deploy", "-l", "app=api", "--replicas=6"),
        ("scale", "deploy,rs", "web", "--replicas=7"),  # web scaled, then rs/web is missing
        ("scale", "deploy/web", "deploy/nope", "--replicas=8"),
        ("scale", "deploy", "web", "--replicas=9", "--dry-run=client"),
        ("scale", "deploy", "web", "--replicas=9", "--dry-run=server"),
    ]
    for step in steps:
        twin(kc, kubectl, pair, *step)
        assert replicas(api, pair[0], "web") == replicas(api, pair[1], "web"), step
        assert replicas(api, pair[0], "api") == replicas(api, pair[1], "api"), step
    assert (replicas(api, pair[0], "web"), replicas(api, pair[0], "api")) == (8, 6)


@pytest.mark.parametrize(
    "args",
    [
        ("scale", "deploy", "nope", "--replicas=1"),
        ("scale", "deploy", "nope", "nope2", "--replicas=1"),
        ("scale", "deploy", "-l", "app=none", "--replicas=1"),
        ("scale", "deploy", "web", "--replicas=-1"),
        ("scale", "deploy", "--replicas=1"),
        ("scale", "deploy/web", "web", "--replicas=1"),
        ("scale", "deploy", "web", "-l", "app=web", "--replicas=1"),
        ("scale", "--replicas=1"),
        ("scale", "configmap", "web", "--replicas=1"),
    ],
)
def test_scale_errors_like_kubectl(
    kc: Runner, kubectl: Runner, pair: tuple[str, str], args: tuple[str, ...]
) -> None:
    assert both(kc, kubectl, "-n", pair[0], *args).returncode == 1


def test_scale_in_a_missing_namespace(kc: Runner, kubectl: Runner) -> None:
    result = both(kc, kubectl, "-n", "no-such-ns", "scale", "deploy", "web", "--replicas=1")
    assert result.stderr == 'error: no objects passed to scale namespaces "no-such-ns" not found\n'


def test_scale_resource_version_precondition(api: Api, kc: Runner, pair: tuple[str, str]) -> None:
    ns = pair[0]
    result = kc(
        "-n", ns, "scale", "deploy", "web", "--replicas=2", "--resource-version=1", check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: Expected resource version to be 1, was ")
    rv = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web/scale")["metadata"][
        "resourceVersion"
    ]
    kc("-n", ns, "scale", "deploy", "web", "--replicas=2", f"--resource-version={rv}")
    assert replicas(api, ns, "web") == 2


def test_scale_timeout_waits_for_the_status(
    api: Api, kc: Runner, kubectl: Runner, pair: tuple[str, str]
) -> None:
    # no controller runs: the status never follows, so both give up (kubectl's own
    # message races its client-side rate limiter against the deadline: only its exit
    # code is compared)
    args = ("scale", "deploy", "web", "--replicas=4", "--timeout=1s")
    ours = kc("-n", pair[0], *args, check=False)
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        1,
        "",
        'error: timed out waiting for "web" to be synced\n',
    )
    assert kubectl("-n", pair[1], *args, check=False).returncode == 1
    # a status that already reports the size ends the wait at once
    api.deployment_status(pair[0], "api", {"replicas": 5})
    assert kc("-n", pair[0], "scale", "deploy", "api", "--replicas=5", "--timeout=10s").stdout == (
        "deployment.apps/api scaled\n"
    )


def test_scale_as_a_process(kctl: Runner, kubectl: Runner, pair: tuple[str, str]) -> None:
    """The real command line end to end: success and not-found exit codes."""
    twin(kctl, kubectl, pair, "scale", "deploy/web", "--replicas=1")
    assert twin(kctl, kubectl, pair, "scale", "deploy", "nope", "--replicas=1").returncode == 1


def test_completion_asks_the_server(apiserver: ApiServerProcess, pair: tuple[str, str]) -> None:
    ns = pair[0]
    assert ko.complete(apiserver, f"kctl scale -n {ns} deploy ") == ["api", "web"]
    assert ko.complete(apiserver, f"kctl scale -n {ns} deploy w") == ["web"]
    assert ko.complete(apiserver, f"kctl scale -n {ns} deploy web ") == ["api"]
    assert ko.complete(apiserver, f"kctl scale -n {ns} deployment/") == [
        "deployment/api",
        "deployment/web",
    ]
    assert "deployments" in ko.complete(apiserver, "kctl scale de")
