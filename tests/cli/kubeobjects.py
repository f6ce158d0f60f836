"""Helpers for the CLI verb tests: objects written through the API, side-by-side checks.

No controllers run in these tests, so what a controller would write (ReplicaSets with
revision annotations and ownerReferences, Deployment status) is written here through
the REST API, exactly as a controller would. Tests that change objects work in pairs
of namespaces holding identical objects, so kctl and kubectl can run the same mutating
command and their outputs be compared byte for byte.

kctl is run in-process (:func:`in_process`, the real ``kctl.cli.main.run`` entry point
with its output captured): a fresh interpreter per command costs about two seconds of
imports and set-up, and these tests run a few hundred commands. Each test module still
runs its verb through the ``kctl`` subprocess fixture at least once.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.apiserver import ApiServerProcess

Result = subprocess.CompletedProcess[str]
KLOG_LINE = re.compile(r"^[IWE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [^\]]+\] .*\n", re.MULTILINE)
APPS = "/apis/apps/v1/namespaces/{ns}"
CORE = "/api/v1/namespaces/{ns}"
# A minimal Deployment manifest: .format(name=..., replicas=...).
DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: c
        image: nginx
"""


def revision(apiserver: ApiServerProcess) -> str:
    """The store's global revision (resourceVersion of a namespace list)."""
    with apiserver.client() as http:
        return str(http.get("/api/v1/namespaces").json()["metadata"]["resourceVersion"])


class Api:
    """A thin JSON client over the test server (admin token)."""

    def __init__(self, server: ApiServerProcess) -> None:
        self.http: httpx.Client = server.client()

    def send(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Any:
        resp = self.http.request(method, path, json=body, headers={"Content-Type": content_type})
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def get(self, path: str) -> Any:
        return self.send("GET", path)

    def namespace(self, name: str) -> str:
        self.send(
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        )
        return name

    def deployment(
        self,
        ns: str,
        name: str,
        *,
        replicas: int = 3,
        image: str = "nginx:1.25",
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name,
                "labels": {"app": name},
                "annotations": annotations or {"team": "web"},
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "main", "image": image}]},
                },
            },
        }
        return dict(self.send("POST", f"{APPS.format(ns=ns)}/deployments", body))

    def replica_set(
        self,
        ns: str,
        deployment: dict[str, Any],
        revision: int,
        image: str,
        cause: str | None = None,
    ) -> dict[str, Any]:
        """What the deployment controller writes for one revision of ``deployment``."""
        name = deployment["metadata"]["name"]
        labels = {"app": name, "pod-template-hash": f"h{revision}"}
        annotations = {"deployment.kubernetes.io/revision": str(revision)}
        if cause:
            annotations["kubernetes.io/change-cause"] = cause
        body = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{name}-h{revision}",
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": name,
                        "uid": deployment["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels, "annotations": {"revision": f"r{revision}"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "main",
                                "image": image,
                                "ports": [{"containerPort": 80}],
                                "env": [{"name": "REV", "value": str(revision)}],
                            }
                        ]
                    },
                },
            },
        }
        return dict(self.send("POST", f"{APPS.format(ns=ns)}/replicasets", body))

    def deployment_status(self, ns: str, name: str, status: dict[str, Any]) -> None:
        """Write a Deployment's status as its controller would (observedGeneration
        defaults to the current generation)."""
        path = f"{APPS.format(ns=ns)}/deployments/{name}"
        if "observedGeneration" not in status:
            status = {"observedGeneration": self.get(path)["metadata"]["generation"], **status}
        self.send("PATCH", f"{path}/status", {"status": status}, "application/merge-patch+json")

    def pod(
        self,
        ns: str,
        name: str,
        *,
        labels: dict[str, str] | None = None,
        containers: tuple[str, ...] = ("main",),
        init: tuple[str, ...] = (),
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
            "spec": {
                "containers": [{"name": c, "image": "busybox"} for c in containers],
                "initContainers": [{"name": c, "image": "busybox"} for c in init],
            },
        }
        return dict(self.send("POST", f"{CORE.format(ns=ns)}/pods", body))


def same(run_kctl: Callable[[], Result], run_kubectl: Callable[[], Result]) -> Result:
    """Run both, assert identical stdout, stderr and exit code; return kctl's result.

    Where kctl's messages name a command (``See 'kctl logs -h'``) they say kctl, so its
    stderr is compared with that one word swapped; client-go's own log lines
    (``W1122 06:03:57.839896 1232 reflector.go:492] ...``, timing noise) are not part
    of kubectl's output and are dropped."""
    ours, theirs = run_kctl(), run_kubectl()
    ours_err = ours.stderr.replace("kctl ", "kubectl ")
    theirs_err = KLOG_LINE.sub("", theirs.stderr)
    assert (ours.returncode, ours.stdout, ours_err) == (
        theirs.returncode,
        theirs.stdout,
        theirs_err,
    ), (
        f"kctl exited {ours.returncode}, kubectl {theirs.returncode}\n"
        f"--- kctl stdout\n{ours.stdout}--- kubectl stdout\n{theirs.stdout}"
        f"--- kctl stderr\n{ours.stderr}--- kubectl stderr\n{theirs.stderr}"
    )
    return ours


Runner = Callable[..., Result]


def both(kctl: Runner, kubectl: Runner, *args: str) -> Result:
    """The same command through both CLIs (on the same objects: read-only commands)."""
    return same(lambda: kctl(*args, check=False), lambda: kubectl(*args, check=False))


def twin(kctl: Runner, kubectl: Runner, namespaces: tuple[str, str], *args: str) -> Result:
    """The same command through both CLIs, each on its own copy of the objects
    (``namespaces``: kctl's, kubectl's), for commands that change them."""
    ours, theirs = namespaces
    return same(
        lambda: kctl("-n", ours, *args, check=False),
        lambda: kubectl("-n", theirs, *args, check=False),
    )


def in_process(server: ApiServerProcess) -> Runner:
    """A runner like the ``kctl`` fixture's, calling ``kctl.cli.main.run`` in this process.
    ``kubeconfig=`` replaces ``$KUBECONFIG`` (the server's admin kubeconfig by default)."""
    from kctl.cli.main import run as kctl_main

    def run(
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60,
        kubeconfig: str | None = None,
    ) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with (
            _env("KUBECONFIG", kubeconfig or str(server.kubeconfig)),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _stdin(input or ""),
        ):
            try:
                kctl_main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        result = Result(["kctl", *args], code, out.getvalue(), err.getvalue())
        if check and code != 0:
            raise AssertionError(
                f"kctl {' '.join(args)} exited {code}\n{result.stdout}{result.stderr}"
            )
        return result

    return run


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    old = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = old


@pytest.fixture(scope="module", name="api")
def api_fixture(apiserver: ApiServerProcess) -> Api:
    """Assign to a name in a test module to use it (``api_fixture = kubeobjects.api_fixture``)."""
    return Api(apiserver)


@pytest.fixture(scope="module", name="kc")
def kc_fixture(apiserver: ApiServerProcess) -> Runner:
    """kctl in-process, against the module's API server."""
    return in_process(apiserver)


_counter = iter(range(1, 1 << 30))


def fresh_name(prefix: str) -> str:
    """A namespace name not used before in this test run."""
    return f"{prefix}-{next(_counter)}"


def complete(server: ApiServerProcess, line: str) -> list[str]:
    """What ``kctl`` offers when TAB is pressed after ``line`` in bash (a real process,
    as the shell runs it)."""
    words = line.split()
    env = {
        **os.environ,
        "KUBECONFIG": str(server.kubeconfig),
        "_KCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) if line.endswith(" ") else len(words) - 1),
    }
    done = subprocess.run(
        [sys.executable, "-m", "kctl.cli.main"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()
