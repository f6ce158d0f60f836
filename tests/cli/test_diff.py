"""``kctl diff`` side by side with kubectl: exit codes 0/1/2 and the changed lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.kubeobjects import DEPLOY, revision
from tests.fixtures.apiserver import ApiServerProcess
from tests.fixtures.cli import Runner

pytestmark = pytest.mark.kubectl


def write(tmp: Path, name: str, text: str) -> str:
    (tmp / name).write_text(text)
    return str(tmp / name)


def changes(output: str) -> list[str]:
    """The +/- lines of a unified diff (headers and context left out)."""
    return [
        line
        for line in output.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    ]


def test_no_difference_then_a_difference(kctl: Runner, kubectl: Runner, tmp_path: Path) -> None:
    kc = write(tmp_path, "kc.yaml", DEPLOY.format(name="d-kc", replicas=1))
    ku = write(tmp_path, "ku.yaml", DEPLOY.format(name="d-ku", replicas=1))
    kctl("apply", "-f", kc)
    kubectl("apply", "-f", ku)
    a, b = kctl("diff", "-f", kc, check=False), kubectl("diff", "-f", ku, check=False)
    assert (a.returncode, a.stdout) == (b.returncode, b.stdout) == (0, "")
    kc = write(tmp_path, "kc.yaml", DEPLOY.format(name="d-kc", replicas=3))
    ku = write(tmp_path, "ku.yaml", DEPLOY.format(name="d-ku", replicas=3))
    a, b = kctl("diff", "-f", kc, check=False), kubectl("diff", "-f", ku, check=False)
    assert a.returncode == b.returncode == 1
    assert changes(a.stdout) == changes(b.stdout)
    assert changes(a.stdout) == [
        "-  generation: 1",
        "+  generation: 2",
        "-  replicas: 1",
        "+  replicas: 3",
    ]
    first = a.stdout.splitlines()[0]
    assert first.startswith("diff -u -N ") and first.endswith("/apps.v1.Deployment.default.d-kc")


def test_new_object_is_all_added(kctl: Runner, kubectl: Runner, tmp_path: Path) -> None:
    a = kctl(
        "diff",
        "-f",
        write(tmp_path, "n.yaml", DEPLOY.format(name="new-kc", replicas=2)),
        check=False,
    )
    b = kubectl(
        "diff",
        "-f",
        write(tmp_path, "m.yaml", DEPLOY.format(name="new-ku", replicas=2)),
        check=False,
    )
    assert a.returncode == b.returncode == 1
    added = changes(a.stdout)
    assert all(line.startswith("+") for line in added)
    varying = ("+  creationTimestamp:", "+  uid:")  # differ between any two objects
    assert [line for line in added if not line.startswith(varying)] == [
        line.replace("new-ku", "new-kc")
        for line in changes(b.stdout)
        if not line.startswith(varying)
    ]
    assert "@@ -0,0 +1," in a.stdout


def test_errors_exit_2_and_nothing_is_written(
    kctl: Runner, kubectl: Runner, tmp_path: Path, apiserver: ApiServerProcess
) -> None:
    bad = write(tmp_path, "bad.yaml", DEPLOY.format(name="bad", replicas=-1))
    unknown = write(
        tmp_path, "w.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
    )
    broken = write(tmp_path, "s.yaml", 'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "x\n')
    before = revision(apiserver)
    for path in (bad, unknown, broken, str(tmp_path / "missing.yaml")):
        a, b = kctl("diff", "-f", path, check=False), kubectl("diff", "-f", path, check=False)
        assert a.returncode == b.returncode == 2, (a.stderr, b.stderr)
        assert a.stderr.splitlines()[0] == b.stderr.splitlines()[0]
    assert revision(apiserver) == before


def test_secret_values_are_masked(kctl: Runner, tmp_path: Path) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sec\ndata:\n  a: {a}\n  b: Yg==\n"
    kctl("apply", "-f", write(tmp_path, "s.yaml", secret.format(a="YQ==")))
    r = kctl("diff", "-f", write(tmp_path, "s.yaml", secret.format(a="Wg==")), check=False)
    assert r.returncode == 1
    assert changes(r.stdout) == ["-  a: '*** (before)'", "+  a: '*** (after)'"]
    assert "YQ==" not in r.stdout and "Wg==" not in r.stdout


def test_not_found_and_conflict_like_kubectl(kctl: Runner, kubectl: Runner, tmp_path: Path) -> None:
    elsewhere = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: nowhere\n"
    path = write(tmp_path, "nf.yaml", elsewhere)
    a, b = kctl("diff", "-f", path, check=False), kubectl("diff", "-f", path, check=False)
    assert a.returncode == b.returncode == 2
    assert a.stderr.splitlines()[0] == b.stderr.splitlines()[0]
    assert b.stderr.startswith('Error from server (NotFound): namespaces "nowhere" not found')
    # another manager took .spec.replicas: diff (server-side) refuses like the apply would
    kc = write(tmp_path, "kc.yaml", DEPLOY.format(name="c-kc", replicas=1))
    ku = write(tmp_path, "ku.yaml", DEPLOY.format(name="c-ku", replicas=1))
    kctl("apply", "-f", kc)
    kubectl("apply", "--server-side", "-f", ku)
    for name in ("c-kc", "c-ku"):
        kubectl("patch", "deployment", name, "-p", '{"spec":{"replicas":2}}')
    a = kctl("diff", "-f", kc, check=False)
    b = kubectl("diff", "--server-side", "-f", ku, check=False)
    assert a.returncode == b.returncode == 2
    expected = [line for line in b.stderr.splitlines() if line.startswith("Error from server")]
    assert expected == [
        'Error from server (Conflict): Apply failed with 1 conflict: conflict with "kubectl-patch" '
        "using apps/v1: .spec.replicas"
    ]
    assert a.stderr.splitlines()[0] == expected[0]
