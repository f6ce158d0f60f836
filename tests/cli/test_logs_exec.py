"""``kctl logs`` and ``kctl exec``: argument handling, pod and container choice, the wire.

The API server answers ``pods/log`` and ``pods/exec`` with 503 until the node agent
serves them, so against the real server these tests check everything up to that
answer side by side with kubectl (errors, container defaulting, ``logs deploy/NAME``,
the 503 message). What the commands send and print once the agent answers is checked
against a fake API (httpx's MockTransport) standing in for the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.cli import kubeobjects as ko
from tests.cli.kubeobjects import Api, Runner, both
from tests.fixtures.apiserver import ApiServerProcess

pytestmark = pytest.mark.kubectl
api_fixture = ko.api_fixture
kc_fixture = ko.kc_fixture


@pytest.fixture(scope="module")
def ns(api: Api) -> str:
    name = api.namespace(ko.fresh_name("logs"))
    api.pod(name, "p1", labels={"app": "web"})
    api.pod(
        name,
        "p2",
        containers=("main", "side"),
        init=("init",),
        annotations={"kubectl.kubernetes.io/default-container": "side"},
    )
    api.pod(name, "p3", containers=("a", "b"), init=("setup",))
    api.deployment(name, "web", replicas=1)
    api.deployment(name, "empty", replicas=1)
    api.send(
        "PATCH",
        f"/apis/apps/v1/namespaces/{name}/deployments/empty",
        {"spec": {"selector": {"matchLabels": {"app": "empty"}}}},
        "application/merge-patch+json",
    )
    return name


@pytest.mark.parametrize(
    "args",
    [
        ("logs", "p1"),  # 503 from the server, printed as kubectl prints it
        ("logs", "pod/p1", "-f", "--tail=5", "--timestamps", "--since=5m", "--previous"),
        ("logs", "p1", "-c", "nope"),
        ("logs", "p2"),  # the default-container annotation: no note
        ("logs", "p3"),  # Defaulted container "a" out of: a, b, setup (init)
        ("logs", "p3", "--all-containers", "--prefix"),
        ("logs", "nope"),
        ("logs", "deploy/web"),  # the Deployment's pod
        ("logs", "deploy/nope"),
        ("logs", "svc/nope"),
        ("logs", "-l", "app=web"),
        ("logs", "-l", "app=none"),
        ("logs",),
        ("logs", "p1", "p2"),  # the second word is a container name
        ("logs", "p1", "--since=5m", "--since-time=2020-01-01T00:00:00Z"),
        ("logs", "p1", "-c", "main", "--all-containers"),
        ("exec", "p1", "--", "ls"),
        ("exec", "p3", "--", "ls", "-l"),
        ("exec", "-c", "b", "p3", "--", "ls"),
        ("exec", "nope", "--", "ls"),
        ("exec", "p1"),
        ("exec", "p1", "ls"),  # the command must follow --
        ("exec", "deploy/web", "--", "ls"),
        ("exec", "-it", "p1", "--", "sh"),
    ],
)
def test_like_kubectl(kc: Runner, kubectl: Runner, ns: str, args: tuple[str, ...]) -> None:
    assert both(kc, kubectl, "-n", ns, *args).returncode == 1 or args[-1] == "app=none"


def test_logs_waits_for_a_pod_of_the_deployment(kc: Runner, kubectl: Runner, ns: str) -> None:
    result = both(kc, kubectl, "-n", ns, "logs", "deploy/empty", "--pod-running-timeout=1s")
    assert result.stderr == "error: timed out waiting for the condition\n"


def test_logs_picks_the_running_pod_of_the_deployment(
    api: Api, apiserver: ApiServerProcess, ns: str
) -> None:
    from kctl.cli.globalflags import GlobalFlags
    from kctl.cli.podpick import resolve_pod
    from kctl.cli.session import Session

    api.pod(ns, "web-pending", labels={"app": "web"})
    api.pod(ns, "web-running", labels={"app": "web"})
    api.send(
        "PATCH",
        f"/api/v1/namespaces/{ns}/pods/web-running/status",
        {"status": {"phase": "Running"}},
        "application/merge-patch+json",
    )
    session = Session(GlobalFlags(kubeconfig=str(apiserver.kubeconfig), namespace=ns))
    assert resolve_pod(session, "deploy/web", 5)["metadata"]["name"] == "web-running"
    assert resolve_pod(session, "p1", 5)["metadata"]["name"] == "p1"


def test_best_pod_order() -> None:
    from kctl.cli.podpick import best_pod

    def pod(
        name: str,
        node: str = "",
        phase: str = "Pending",
        ready: str | None = None,
        restarts: int = 0,
        created: str = "2026-01-01T00:00:00Z",
    ) -> dict[str, Any]:
        conditions = (
            [{"type": "Ready", "status": "True", "lastTransitionTime": ready}] if ready else []
        )
        return {
            "metadata": {"name": name, "creationTimestamp": created},
            "spec": {"nodeName": node},
            "status": {
                "phase": phase,
                "conditions": conditions,
                "containerStatuses": [{"restartCount": restarts}],
            },
        }

    assert (
        best_pod([pod("unscheduled", phase="Running"), pod("scheduled", node="n1")])["metadata"][
            "name"
        ]
        == "scheduled"
    )
    assert (
        best_pod([pod("pending", "n"), pod("running", "n", "Running")])["metadata"]["name"]
        == "running"
    )
    assert (
        best_pod(
            [pod("a", "n", "Running"), pod("ready", "n", "Running", ready="2026-01-01T00:00:05Z")]
        )["metadata"]["name"]
        == "ready"
    )
    older = pod("older", "n", "Running", ready="2026-01-01T00:00:01Z")
    assert best_pod([pod("newer", "n", "Running", ready="2026-01-01T00:00:09Z"), older]) is older
    assert (
        best_pod([pod("calm", "n"), pod("crashy", "n", restarts=4)])["metadata"]["name"] == "crashy"
    )
    assert (
        best_pod([pod("young", "n", created="2026-01-02T00:00:00Z"), pod("old", "n")])["metadata"][
            "name"
        ]
        == "old"
    )


# --- against a fake API: what is sent, what is printed ---------------------------------------

PODS = {
    "p1": {"containers": [{"name": "main"}]},
    "p3": {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "setup"}]},
    "w1": {"containers": [{"name": "main"}]},
    "w2": {"containers": [{"name": "main"}]},
}


class FakeApi:
    """Answers pod reads, logs and exec; records every request."""

    def __init__(self, exec_answer: dict[str, Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.exec_answer = exec_answer or {"stdout": "", "stderr": "", "exitCode": 0}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        parts = request.url.path.strip("/").split("/")  # api v1 namespaces ns pods [name [sub]]
        if request.url.path.endswith("/pods"):
            items = [self._pod(n) for n in ("w1", "w2")]
            return httpx.Response(
                200, json={"kind": "PodList", "metadata": {"resourceVersion": "9"}, "items": items}
            )
        name = parts[5]
        if len(parts) == 6:
            return httpx.Response(200, json=self._pod(name))
        if parts[6] == "log":
            text = "".join(f"{name} line {i}\n" for i in (1, 2))
            return httpx.Response(200, text=text, headers={"Content-Type": "text/plain"})
        return httpx.Response(200, json=self.exec_answer)

    @staticmethod
    def _pod(name: str) -> dict[str, Any]:
        return {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default"},
            "spec": PODS[name],
            "status": {"phase": "Running"},
        }


@pytest.fixture
def fake() -> Iterator[Callable[..., tuple[Any, FakeApi]]]:
    """``run(*args, exec_answer=None, input=None)`` -> (typer result, FakeApi)."""
    from kctl.cli import session as sessions
    from kctl.cli.app import app
    from kctl.cli.globalflags import GlobalFlags
    from kctl.cli.verbs import register_all
    from kctl.client.http import Client
    from kctl.client.kubeconfig import config_for

    register_all()

    def run(
        *args: str, exec_answer: dict[str, Any] | None = None, input: str | None = None
    ) -> tuple[Any, FakeApi]:
        api = FakeApi(exec_answer)
        config = config_for("https://fake.invalid", token="t")
        session = sessions.start(GlobalFlags())
        session.__dict__["config"] = config
        session.__dict__["client"] = Client(config, transport=httpx.MockTransport(api))
        return CliRunner().invoke(app, list(args), input=input), api

    yield run
    sessions.start(GlobalFlags())


def query(request: httpx.Request) -> list[tuple[str, str]]:
    return list(request.url.params.multi_items())


def test_logs_request_and_output(fake: Callable[..., tuple[Any, FakeApi]]) -> None:
    result, api = fake(
        "logs",
        "p3",
        "-c",
        "b",
        "--tail=5",
        "--timestamps",
        "--since=90s",
        "-p",
        "--limit-bytes=100",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "p3 line 1\np3 line 2\n"
    log = api.requests[-1]
    assert log.url.path == "/api/v1/namespaces/default/pods/p3/log"
    assert query(log) == [
        ("container", "b"),
        ("previous", "true"),
        ("sinceSeconds", "90"),
        ("tailLines", "5"),
        ("timestamps", "true"),
        ("limitBytes", "100"),
    ]


def test_logs_of_every_container_with_prefixes(fake: Callable[..., tuple[Any, FakeApi]]) -> None:
    result, api = fake("logs", "p3", "--all-containers", "--prefix")
    assert result.stdout == "".join(
        f"[pod/p3/{c}] p3 line {i}\n" for c in ("setup", "a", "b") for i in (1, 2)
    )
    assert [dict(query(r))["container"] for r in api.requests[1:]] == ["setup", "a", "b"]


def test_logs_of_every_pod_of_a_selector(fake: Callable[..., tuple[Any, FakeApi]]) -> None:
    result, api = fake("logs", "-l", "app=w", "--prefix")
    assert result.stdout == "".join(
        f"[pod/{p}/main] {p} line {i}\n" for p in ("w1", "w2") for i in (1, 2)
    )
    assert dict(query(api.requests[0])) == {"labelSelector": "app=w"}
    assert all(dict(query(r))["tailLines"] == "10" for r in api.requests[1:])  # -l defaults to 10


def test_logs_follow_streams_lines(fake: Callable[..., tuple[Any, FakeApi]]) -> None:
    result, api = fake("logs", "-f", "p1")
    assert result.stdout == "p1 line 1\np1 line 2\n"
    assert dict(query(api.requests[-1])) == {"container": "main", "follow": "true"}
    result, _ = fake("logs", "-f", "-l", "app=w", "--max-log-requests=1")
    assert result.exit_code == 1
    assert (
        "you are attempting to follow 2 log streams, but maximum allowed concurrency is 1"
        in str(result.exception)
    )


def test_exec_request_output_and_exit_code(fake: Callable[..., tuple[Any, FakeApi]]) -> None:
    answer = {"stdout": "out\n", "stderr": "err\n", "exitCode": 3}
    result, api = fake(
        "exec", "p3", "-c", "b", "--", "sh", "-c", "echo a && exit 3", exec_answer=answer
    )
    assert result.exit_code == 3
    assert result.stdout == "out\n"
    assert result.stderr == "err\ncommand terminated with exit code 3\n"
    call = api.requests[-1]
    assert (call.method, call.url.path) == ("POST", "/api/v1/namespaces/default/pods/p3/exec")
    assert query(call) == [
        ("command", "sh"),
        ("command", "-c"),
        ("command", "echo a && exit 3"),
        ("container", "b"),
        ("stdin", "false"),
        ("stdout", "true"),
        ("stderr", "true"),
        ("tty", "false"),
    ]
    assert call.content == b""


def test_exec_sends_stdin_and_defaults_the_container(
    fake: Callable[..., tuple[Any, FakeApi]],
) -> None:
    result, api = fake(
        "exec",
        "-i",
        "p3",
        "--",
        "cat",
        input="hello\n",
        exec_answer={"stdout": "hello\n", "stderr": "", "exitCode": 0},
    )
    assert result.exit_code == 0
    assert result.stdout == "hello\n"
    assert result.stderr == 'Defaulted container "a" out of: a, b, setup (init)\n'
    call = api.requests[-1]
    assert dict(query(call))["container"] == "a"
    assert json.loads(call.content) == {"stdin": "hello\n"}


def test_completion_of_pod_names(apiserver: ApiServerProcess, ns: str) -> None:
    assert ko.complete(apiserver, f"kctl logs -n {ns} p") == ["p1", "p2", "p3"]
    assert ko.complete(apiserver, f"kctl exec -n {ns} deploy/") == ["deploy/empty", "deploy/web"]


def test_logs_as_a_process(kctl: Runner, kubectl: Runner, ns: str) -> None:
    """The real command line end to end: the 503 and a not-found, exit code 1."""
    assert both(kctl, kubectl, "-n", ns, "logs", "p1").returncode == 1
    assert both(kctl, kubectl, "-n", ns, "exec", "nope", "--", "ls").returncode == 1
