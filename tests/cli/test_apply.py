"""``kctl apply`` against a real API server, side by side with the machine's kubectl.

kubectl and kctl never touch each other's objects: each case gives them different
names (or namespaces), and compares what they print and how they exit. Where kctl is
deliberately stricter (nothing is written when one document is bad), the test checks
that the store's revision did not move.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.kubeobjects import DEPLOY, revision
from tests.fixtures.apiserver import ApiServerProcess
from tests.fixtures.cli import Runner

pytestmark = pytest.mark.kubectl
Result = subprocess.CompletedProcess[str]

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra}data:\n  a: {value!r}\n"


def manifest(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def app_docs(prefix: str, value: str = "1", replicas: int = 1) -> str:
    return (
        CM.format(name=f"{prefix}-cm", extra="", value=value)
        + "---\n"
        + DEPLOY.format(name=f"{prefix}-web", replicas=replicas)
    )


def both(
    kctl: Runner, kubectl: Runner, tmp: Path, text_for: Callable[[str], str], *extra: str
) -> tuple[Result, Result]:
    """Run ``apply -f`` with each tool on its own copy (``text_for(prefix)``)."""
    a = kctl("apply", "-f", manifest(tmp, "kc.yaml", text_for("kc")), *extra, check=False)
    b = kubectl("apply", "-f", manifest(tmp, "ku.yaml", text_for("ku")), *extra, check=False)
    return a, b


def test_create_configure_unchanged_like_kubectl(
    kctl: Runner, kubectl: Runner, tmp_path: Path
) -> None:
    for value, replicas in (("1", 1), ("1", 1), ("2", 1), ("2", 3)):
        a, b = both(
            kctl, kubectl, tmp_path, functools.partial(app_docs, value=value, replicas=replicas)
        )
        assert (a.returncode, b.returncode) == (0, 0), a.stderr + b.stderr
        assert a.stdout.replace("kc-", "ku-") == b.stdout
    assert a.stdout == "configmap/kc-cm unchanged\ndeployment.apps/kc-web configured\n"


def test_missing_namespace_is_not_found_like_kubectl(
    kctl: Runner, kubectl: Runner, tmp_path: Path, apiserver: ApiServerProcess
) -> None:
    before = revision(apiserver)
    a, b = both(
        kctl,
        kubectl,
        tmp_path,
        lambda p: CM.format(name=f"{p}-x", extra="", value="1").replace(
            f"name: {p}-x", f"name: {p}-x\n  namespace: nowhere"
        ),
    )
    assert a.returncode == b.returncode == 1
    expected = b.stderr.replace("ku.yaml", "kc.yaml").replace("ku-x", "kc-x")
    assert a.stderr.startswith(expected), a.stderr
    assert revision(apiserver) == before


def test_invalid_document_applies_nothing(
    kctl: Runner, kubectl: Runner, tmp_path: Path, apiserver: ApiServerProcess
) -> None:
    def docs(p: str) -> str:
        return (
            CM.format(name=f"{p}-ok", extra="", value="1")
            + "---\n"
            + DEPLOY.format(name=f"{p}-bad", replicas=-1)
        )

    before = revision(apiserver)
    a = kctl("apply", "-f", manifest(tmp_path, "kc.yaml", docs("kc")), check=False)
    assert revision(apiserver) == before, "a rejected apply must not write anything"
    b = kubectl("apply", "-f", manifest(tmp_path, "ku.yaml", docs("ku")), check=False)
    assert a.returncode == b.returncode == 1
    assert b.stdout == "configmap/ku-ok created\n"  # kubectl applies what came before
    assert a.stdout == ""
    first = b.stderr.splitlines()[0].replace("ku-bad", "kc-bad")
    assert first == (
        'The Deployment "kc-bad" is invalid: spec.replicas: Invalid value: -1: '
        "must be greater than or equal to 0"
    )
    lines = a.stderr.splitlines()
    assert lines[0] == first
    assert lines[1] == f"  in {tmp_path}/kc.yaml, document 2 (deployment.apps/kc-bad)"
    assert lines[-1] == "error: nothing was applied: 1 of 2 objects rejected"


def test_schema_error_names_document_and_field(
    kctl: Runner, tmp_path: Path, apiserver: ApiServerProcess
) -> None:
    text = (
        CM.format(name="s-ok", extra="", value="1")
        + "---\n"
        + DEPLOY.format(name="s-web", replicas='"three"')
        + "---\n"
        + CM.format(name="s-cm", extra="bogus: 1\n", value="1")
    )
    before = revision(apiserver)
    r = kctl("apply", "-f", manifest(tmp_path, "s.yaml", text), check=False)
    assert r.returncode == 1
    assert revision(apiserver) == before
    assert (
        'The Deployment "s-web" is invalid: spec.replicas: Invalid value: "three": '
        'spec.replicas in body must be of type integer: "string"'
    ) in r.stderr
    assert f"in {tmp_path}/s.yaml, document 2 (deployment.apps/s-web)" in r.stderr
    assert 'strict decoding error: unknown field "bogus"' in r.stderr
    assert f"in {tmp_path}/s.yaml, document 3 (configmap/s-cm)" in r.stderr


def test_yaml_syntax_error_names_file_and_line(
    kctl: Runner, kubectl: Runner, tmp_path: Path, apiserver: ApiServerProcess
) -> None:
    text = CM.format(name="y-ok", extra="", value="1") + '  b: "unterminated\n'
    path = manifest(tmp_path, "y.yaml", text)
    before = revision(apiserver)
    a = kctl("apply", "-f", path, check=False)
    b = kubectl("apply", "-f", path, check=False)
    assert a.returncode == b.returncode == 1
    assert (
        a.stderr == b.stderr
    )  # error parsing FILE: ... yaml: line 8: found unexpected end of stream
    assert f"error parsing {path}" in a.stderr and "line 8" in a.stderr
    assert revision(apiserver) == before


def test_unknown_kind_names_it_and_suggests_api_resources(
    kctl: Runner, kubectl: Runner, tmp_path: Path, apiserver: ApiServerProcess
) -> None:
    text = (
        CM.format(name="u-ok", extra="", value="1")
        + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    )
    path = manifest(tmp_path, "u.yaml", text)
    before = revision(apiserver)
    a = kctl("apply", "-f", path, check=False)
    assert revision(apiserver) == before
    b = kubectl("apply", "-f", path, check=False)
    assert a.returncode == b.returncode == 1
    assert a.stderr.splitlines()[0] == b.stderr.splitlines()[0]
    assert 'no matches for kind "Widget" in version "example.com/v1"' in a.stderr
    assert "kctl api-resources" in a.stderr
    kubectl("delete", "configmap", "u-ok")


def test_field_manager_conflict_like_kubectl_server_side(
    kctl: Runner, kubectl: Runner, tmp_path: Path
) -> None:
    """Another manager took .spec.replicas: apply conflicts the way kubectl --server-side
    does; --force-conflicts takes the field."""
    for tool, p in ((kctl, "cf-kc"), (kubectl, "cf-ku")):
        extra = ("--server-side",) if tool is kubectl else ()
        tool(
            "apply",
            "-f",
            manifest(tmp_path, f"{p}.yaml", DEPLOY.format(name=p, replicas=1)),
            *extra,
        )
        kubectl("patch", "deployment", p, "-p", '{"spec":{"replicas":2}}')
        manifest(tmp_path, f"{p}.yaml", DEPLOY.format(name=p, replicas=3))
    a = kctl("apply", "-f", str(tmp_path / "cf-kc.yaml"), check=False)
    b = kubectl("apply", "--server-side", "-f", str(tmp_path / "cf-ku.yaml"), check=False)
    assert a.returncode == b.returncode == 1
    assert a.stderr.startswith(b.stderr), a.stderr
    assert b.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas'
    )
    a = kctl("apply", "--force-conflicts", "-f", str(tmp_path / "cf-kc.yaml"))
    assert a.stdout == "deployment.apps/cf-kc configured\n"


def test_dry_runs_and_outputs(kctl: Runner, tmp_path: Path, apiserver: ApiServerProcess) -> None:
    path = manifest(tmp_path, "d.yaml", app_docs("dr"))
    before = revision(apiserver)
    r = kctl("apply", "-f", path, "--dry-run=server")
    assert r.stdout == (
        "configmap/dr-cm created (server dry run)\ndeployment.apps/dr-web created (server dry run)\n"
    )
    r = kctl("apply", "-f", path, "--dry-run=client", "-o", "name")
    assert r.stdout == "configmap/dr-cm\ndeployment.apps/dr-web\n"
    assert revision(apiserver) == before
    r = kctl("apply", "-f", path, "-o", "yaml")
    assert r.stdout.startswith('apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    a: "1"\n')
    assert "managedFields" not in r.stdout and r.stdout.endswith("kind: List\nmetadata: {}\n")
    r = kctl("apply", "-f", path, "--dry-run=server")
    assert "configmap/dr-cm unchanged (server dry run)" in r.stdout
    r = kctl("apply", "-f", path, "-o", "json", "--dry-run=client")
    assert r.stdout.startswith('{\n    "kind": "List",\n    "apiVersion": "v1",\n')


def test_namespace_and_its_objects_in_one_input(
    kctl: Runner, kubectl: Runner, tmp_path: Path, apiserver: ApiServerProcess
) -> None:
    """The objects of a namespace created by the same input are checked (dry run in a
    stand-in namespace) and written after it, whatever the input order. A namesake in
    the stand-in (owned by another manager) does not turn the check into a conflict."""
    kubectl("apply", "-f", "-", input=CM.format(name="inside", extra="", value="other"))

    def text(namespace: str, value: str) -> str:
        return (
            CM.format(name="inside", extra="", value=value).replace(
                "name: inside", f"name: inside\n  namespace: {namespace}"
            )
            + f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n"
        )

    r = kctl("apply", "-f", "-", input=text("fresh", "1"))
    assert r.stdout == "namespace/fresh created\nconfigmap/inside created\n"
    before = revision(apiserver)
    r = kctl("apply", "-f", "-", input=text("fresh2", "x").replace("a: 'x'", "a: 1"), check=False)
    assert r.returncode == 1, r.stdout
    assert "data.a in body must be of type string" in r.stderr
    assert revision(apiserver) == before


def test_prune_removes_exactly_what_left_the_directory(
    kctl: Runner, kubectl: Runner, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    for name in ("p-a", "p-b", "p-c"):
        manifest(
            app,
            f"{name}.yaml",
            CM.format(name=name, extra="", value="1").replace(
                f"name: {name}\n", f"name: {name}\n  labels: {{app: x}}\n"
            ),
        )
    manifest(app, "p-other.yaml", CM.format(name="p-other", extra="", value="1"))
    # labelled like the app but created by someone else: never pruned
    kubectl(
        "apply",
        "-f",
        manifest(
            tmp_path,
            "foreign.yaml",
            CM.format(name="p-foreign", extra="", value="1").replace(
                "name: p-foreign\n", "name: p-foreign\n  labels: {app: x}\n"
            ),
        ),
    )
    r = kctl("apply", "-f", str(app), "--prune", "-l", "app=x")
    assert r.stdout == "configmap/p-a created\nconfigmap/p-b created\nconfigmap/p-c created\n"
    (app / "p-b.yaml").unlink()
    r = kctl("apply", "-f", str(app), "--prune", "-l", "app=x")
    assert r.stdout == "configmap/p-a unchanged\nconfigmap/p-c unchanged\nconfigmap/p-b pruned\n"
    names = kubectl("get", "configmaps", "-o", "name").stdout.split()
    assert "configmap/p-b" not in names
    assert {"configmap/p-a", "configmap/p-c", "configmap/p-foreign"} <= set(names)
    assert "configmap/p-other" not in names  # -l also selects what is applied, as in kubectl
    r = kctl("apply", "-f", str(app), "--prune", check=False)
    assert (
        r.returncode == 1
        and "all resources selected for prune without explicitly passing --all" in r.stderr
    )


def test_wait_follows_deployments_until_available(
    kctl: Runner, tmp_path: Path, apiserver: ApiServerProcess
) -> None:
    path = manifest(tmp_path, "w.yaml", DEPLOY.format(name="waited", replicas=2))
    cmd = [sys.executable, "-m", "kctl.cli.main", "apply", "-f", path, "--wait", "--timeout=60s"]
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig), "HOME": str(tmp_path)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()
        waiting = proc.stdout.readline()  # it waits: now make the Deployment available
        with apiserver.client() as http:
            status = {
                "observedGeneration": 1,
                "replicas": 2,
                "updatedReplicas": 2,
                "readyReplicas": 2,
                "availableReplicas": 2,
            }
            resp = http.patch(
                "/apis/apps/v1/namespaces/default/deployments/waited/status",
                json={"status": status},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert resp.status_code == 200, resp.text
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert first == "deployment.apps/waited created\n"
    assert waiting == "Waiting for deployment spec update to be observed...\n"
    assert rest == 'deployment "waited" successfully rolled out\n'
    r = kctl("apply", "-f", path, "--wait", "--timeout=1s", check=False)
    assert r.returncode == 0  # already available
    manifest(tmp_path, "w.yaml", DEPLOY.format(name="waited", replicas=5))
    r = kctl("apply", "-f", path, "--wait", "--timeout=1s", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == "error: timed out waiting for the condition on deployments/waited"
