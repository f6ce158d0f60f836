"""``kctl delete`` side by side with kubectl: outputs, errors, exit codes, waiting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.apiserver import ApiServerProcess
from tests.fixtures.cli import Runner

pytestmark = pytest.mark.kubectl


def configmaps(*names: str, namespace: str = "", labels: str = "", finalizer: bool = False) -> str:
    docs = []
    for name in names:
        md = f"  name: {name}\n"
        if namespace:
            md += f"  namespace: {namespace}\n"
        if labels:
            md += f"  labels: {{{labels}}}\n"
        if finalizer:
            md += "  finalizers: [example.com/hold]\n"
        docs.append(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n{md}data:\n  a: x\n")
    return "---\n".join(docs)


def namespace(name: str) -> str:
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


def same(
    a: subprocess.CompletedProcess[str], b: subprocess.CompletedProcess[str], **names: str
) -> None:
    """Same exit code and output once kubectl's names are replaced by kctl's."""

    def swap(text: str) -> str:
        for theirs, ours in names.items():
            text = text.replace(theirs.replace("_", "-"), ours)
        return text

    assert a.returncode == b.returncode, (a.stderr, b.stderr)
    assert a.stdout == swap(b.stdout)
    assert a.stderr == swap(b.stderr)


def test_by_name_with_one_missing(kctl: Runner, kubectl: Runner) -> None:
    kctl("apply", "-f", "-", input=configmaps("n-kc-a", "n-kc-b"))
    kubectl("apply", "-f", "-", input=configmaps("n-ku-a", "n-ku-b"))
    a = kctl("delete", "configmap", "n-kc-a", "nope", "n-kc-b", check=False)
    b = kubectl("delete", "configmap", "n-ku-a", "nope", "n-ku-b", check=False)
    same(a, b, n_ku_a="n-kc-a", n_ku_b="n-kc-b")
    assert a.returncode == 1
    assert a.stdout == 'configmap "n-kc-a" deleted\nconfigmap "n-kc-b" deleted\n'
    assert a.stderr == 'Error from server (NotFound): configmaps "nope" not found\n'


def test_by_file_then_not_found_then_ignored(kctl: Runner, kubectl: Runner, tmp_path: Path) -> None:
    kc, ku = tmp_path / "kc.yaml", tmp_path / "ku.yaml"
    kc.write_text(configmaps("f-kc-1", "f-kc-2"))
    ku.write_text(configmaps("f-ku-1", "f-ku-2"))
    kctl("apply", "-f", str(kc))
    kubectl("apply", "-f", str(ku))
    names = {"f_ku_1": "f-kc-1", "f_ku_2": "f-kc-2", "ku.yaml": "kc.yaml"}
    for _ in range(2):
        a = kctl("delete", "-f", str(kc), check=False)
        b = kubectl("delete", "-f", str(ku), check=False)
        same(a, b, **names)
    assert a.returncode == 1
    assert f'error when deleting "{kc}": configmaps "f-kc-1" not found' in a.stderr
    a = kctl("delete", "-f", str(kc), "--ignore-not-found", check=False)
    b = kubectl("delete", "-f", str(ku), "--ignore-not-found", check=False)
    same(a, b)
    assert (a.returncode, a.stdout, a.stderr) == (0, "", "")


def test_selector_all_and_all_namespaces(kctl: Runner, kubectl: Runner) -> None:
    for tool, ns in ((kctl, "sel-kc"), (kubectl, "sel-ku")):
        tool("apply", "-f", "-", input=namespace(ns))
        tool("apply", "-f", "-", input=configmaps("x1", "x2", namespace=ns, labels="app: x"))
        tool("apply", "-f", "-", input=configmaps("y1", namespace=ns))
    a = kctl("delete", "configmaps", "-l", "app=none", "-n", "sel-kc", check=False)
    b = kubectl("delete", "configmaps", "-l", "app=none", "-n", "sel-ku", check=False)
    same(a, b)
    assert a.stdout == "No resources found\n"
    a = kctl("delete", "configmaps", "-l", "app=x", "-n", "sel-kc")
    b = kubectl("delete", "configmaps", "-l", "app=x", "-n", "sel-ku")
    same(a, b)
    assert a.stdout == 'configmap "x1" deleted\nconfigmap "x2" deleted\n'
    a = kctl("delete", "configmaps", "--all", "-n", "sel-kc", "-o", "name")
    b = kubectl("delete", "configmaps", "--all", "-n", "sel-ku", "-o", "name")
    same(a, b)
    assert a.stdout == "configmap/y1\n"
    a = kctl("delete", "configmaps", "-A", "-l", "app=gone")
    assert a.stdout == "No resources found\n"


def test_usage_errors_match_kubectl(kctl: Runner, kubectl: Runner) -> None:
    for args in (
        (),
        ("configmap",),
        ("configmap", "x", "--cascade=sideways"),
        ("configmap", "x", "--all"),
        ("configmap", "x", "-l", "a=b"),
        ("configmap", "x", "-A"),
        ("configmap/x", "--all"),
        ("configmap", "x", "--now", "--grace-period=5"),
    ):
        a, b = kctl("delete", *args, check=False), kubectl("delete", *args, check=False)
        assert a.returncode == b.returncode == 1, args
        assert a.stderr == b.stderr, args


def test_force_and_now(kctl: Runner, kubectl: Runner) -> None:
    kctl("apply", "-f", "-", input=configmaps("fo-kc", "now-kc"))
    kubectl("apply", "-f", "-", input=configmaps("fo-ku", "now-ku"))
    a = kctl("delete", "configmap", "fo-kc", "--force", check=False)
    b = kubectl("delete", "configmap", "fo-ku", "--force", check=False)
    same(a, b, fo_ku="fo-kc")
    assert a.stdout == 'configmap "fo-kc" force deleted\n'
    assert a.stderr.startswith("Warning: Immediate deletion does not wait")
    a = kctl("delete", "configmap", "now-kc", "--now")
    b = kubectl("delete", "configmap", "now-ku", "--now")
    same(a, b, now_ku="now-kc")


def _unhold(apiserver: ApiServerProcess, name: str) -> None:
    with apiserver.client() as http:
        r = http.patch(
            f"/api/v1/namespaces/default/configmaps/{name}",
            json={"metadata": {"finalizers": None}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text


def test_waits_until_gone(kctl: Runner, apiserver: ApiServerProcess, tmp_path: Path) -> None:
    kctl("apply", "-f", "-", input=configmaps("held", finalizer=True))
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig), "HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kctl.cli.main", "delete", "configmap", "held"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        time.sleep(2)
        assert proc.poll() is None, "delete must wait while a finalizer holds the object"
        _unhold(apiserver, "held")
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out, err) == (0, 'configmap "held" deleted\n', "")
    kctl("apply", "-f", "-", input=configmaps("held2", finalizer=True))
    r = kctl("delete", "configmap", "held2", "--timeout=1s", check=False)
    assert r.returncode == 1
    assert r.stdout == 'configmap "held2" deleted\n'
    assert r.stderr == "error: timed out waiting for the condition on configmaps/held2\n"
    r = kctl("delete", "configmap", "held2", "--wait=false")
    assert r.stdout == 'configmap "held2" deleted\n'
    _unhold(apiserver, "held2")


def test_cascade_orphan_is_sent(kctl: Runner, apiserver: ApiServerProcess) -> None:
    kctl("apply", "-f", "-", input=configmaps("orph"))
    r = kctl("delete", "configmap", "orph", "--cascade=orphan", "--wait=false")
    assert r.stdout == 'configmap "orph" deleted\n'
    with apiserver.client() as http:
        obj = http.get("/api/v1/namespaces/default/configmaps/orph").json()
    assert obj["metadata"]["finalizers"] == ["orphan"]  # no garbage collector runs here
    _unhold(apiserver, "orph")
