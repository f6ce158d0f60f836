"""``kctl edit`` with EDITOR set to a small script, side by side with kubectl.

The script (written per test module) does what a file named ``mode`` next to it says,
and keeps a copy of every buffer it was given, so a test can see exactly what the user
would have seen (the header, the error comments, their own comments kept).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.apiserver import ApiServerProcess
from tests.fixtures.cli import Runner

pytestmark = pytest.mark.kubectl

EDITOR = r"""#!{python}
import pathlib, re, sys
here = pathlib.Path(__file__).parent
path = pathlib.Path(sys.argv[1])
text = path.read_text()
seen = sorted(here.glob("seen-*.yaml"))
(here / f"seen-{{len(seen):02d}}.yaml").write_text(text)
mode = (here / "mode").read_text().strip()
if mode == "replicas":
    text = re.sub(r"replicas: \d+", "replicas: 3", text, count=1)
elif mode == "bad":
    text = re.sub(r"replicas: \d+", "replicas: -1", text, count=1)
elif mode == "bad-then-good":
    if "was not valid" in text:
        text = text.replace("replicas: -1", "replicas: 2", 1)
    else:
        text = text.replace("kind: Deployment\n", "kind: Deployment\n# my note\n", 1)
        text = re.sub(r"replicas: \d+", "replicas: -1", text, count=1)
elif mode == "empty":
    text = ""
elif mode == "rename":
    text = re.sub(r"\n  name: (\S+)", r"\n  name: \1-renamed", text, count=1)
path.write_text(text)
"""

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 1
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

Edit = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def editor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("editor")
    script = where / "editor.py"
    script.write_text(EDITOR.format(python=sys.executable))
    script.chmod(0o755)
    return where


def _edit_runner(base: list[str], apiserver: ApiServerProcess, home: Path, editor: Path) -> Edit:
    env = {
        **os.environ,
        "HOME": str(home),
        "KUBECONFIG": str(apiserver.kubeconfig),
        "KUBECACHEDIR": str(home / "cache"),
        "NO_COLOR": "1",
        "EDITOR": str(editor / "editor.py"),
    }
    env.pop("KUBE_EDITOR", None)

    def run(mode: str, *args: str) -> subprocess.CompletedProcess[str]:
        (editor / "mode").write_text(mode)
        for old in editor.glob("seen-*.yaml"):
            old.unlink()
        return subprocess.run(
            [*base, "edit", *args], capture_output=True, text=True, env=env, timeout=60
        )

    return run


@pytest.fixture(scope="module")
def kctl_edit(
    apiserver: ApiServerProcess, editor_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Edit:
    home = tmp_path_factory.mktemp("kctl-edit-home")
    return _edit_runner([sys.executable, "-m", "kctl.cli.main"], apiserver, home, editor_dir)


@pytest.fixture(scope="module")
def kubectl_edit(
    apiserver: ApiServerProcess,
    editor_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    kubectl: Runner,
) -> Edit:
    home = tmp_path_factory.mktemp("kubectl-edit-home")
    return _edit_runner(["kubectl"], apiserver, home, editor_dir)


def seen(editor: Path) -> list[str]:
    return [p.read_text() for p in sorted(editor.glob("seen-*.yaml"))]


def replicas(kctl: Runner, name: str) -> str:
    return kctl("get", "deployment", name, "-o", "jsonpath={.spec.replicas}").stdout


@pytest.fixture(scope="module", autouse=True)
def deployments(kctl: Runner) -> None:
    for name in ("e-kc", "e-ku", "v-kc", "v-ku", "g-kc"):
        kctl("apply", "-f", "-", input=DEPLOY.format(name=name))


def test_unchanged_is_cancelled_like_kubectl(
    kctl_edit: Edit, kubectl_edit: Edit, editor_dir: Path, kubectl: Runner
) -> None:
    a = kctl_edit("none", "deployment", "e-kc")
    buffer = seen(editor_dir)[0]
    b = kubectl_edit("none", "deployment", "e-ku")
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)
    assert a.stderr == "Edit cancelled, no changes made.\n"
    # the same buffer kubectl shows: its header, then get -o yaml without managedFields
    shown = seen(editor_dir)[0]
    assert buffer == shown.replace("e-ku", "e-kc").replace(
        _line(shown, "uid:"), _line(buffer, "uid:")
    ).replace(_line(shown, "creationTimestamp:"), _line(buffer, "creationTimestamp:")).replace(
        _line(shown, "resourceVersion:"), _line(buffer, "resourceVersion:")
    )
    assert buffer.startswith("# Please edit the object below.")
    assert "managedFields" not in buffer


def _line(text: str, key: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(key))


def test_change_is_saved(kctl_edit: Edit, kubectl_edit: Edit, kctl: Runner) -> None:
    a = kctl_edit("replicas", "deployment/e-kc")
    b = kubectl_edit("replicas", "deployment/e-ku")
    assert (a.returncode, a.stdout) == (b.returncode, b.stdout.replace("e-ku", "e-kc"))
    assert a.stdout == "deployment.apps/e-kc edited\n"
    assert replicas(kctl, "e-kc") == "3"
    managers = kctl(
        "get", "deployment", "e-kc", "-o", "jsonpath={.metadata.managedFields[*].manager}"
    ).stdout.split()
    assert "kctl-edit" in managers


def test_invalid_twice_gives_up_like_kubectl(
    kctl_edit: Edit, kubectl_edit: Edit, editor_dir: Path, kctl: Runner
) -> None:
    a = kctl_edit("bad", "deployment", "v-kc")
    reopened = seen(editor_dir)[1]
    b = kubectl_edit("bad", "deployment", "v-ku")
    assert a.returncode == b.returncode == 1
    assert a.stdout == b.stdout == ""

    def masked(text: str) -> list[str]:
        return [
            line if "has been stored" not in line else "stored"
            for line in text.replace("v-ku", "v-kc").splitlines()
        ]

    assert masked(a.stderr) == masked(b.stderr)
    assert masked(a.stderr) == [
        'error: deployments.apps "v-kc" is invalid',
        "stored",
        "error: Edit cancelled, no valid changes were saved.",
    ]
    assert (
        '#\n# deployments.apps "v-kc" was not valid:\n'
        "# * spec.replicas: Invalid value: -1: must be greater than or equal to 0\n#\n"
    ) in reopened
    assert replicas(kctl, "v-kc") == "1"


def test_reopened_after_an_error_keeps_the_users_text(
    kctl_edit: Edit, editor_dir: Path, kctl: Runner
) -> None:
    r = kctl_edit("bad-then-good", "deployment", "g-kc")
    assert (r.returncode, r.stdout) == (0, "deployment.apps/g-kc edited\n"), r.stderr
    first, second = seen(editor_dir)
    assert "was not valid" not in first
    assert "# my note\n" in second and "replicas: -1" in second
    assert second.count("# Please edit the object below.") == 1
    assert replicas(kctl, "g-kc") == "2"


def test_empty_file_aborts(kctl_edit: Edit) -> None:
    """As the header says. (kubectl 1.32 instead reports the empty file as invalid,
    reopens it, and exits 1 when it is saved empty again.)"""
    r = kctl_edit("empty", "deployment", "e-kc")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "Edit cancelled, saved file was empty.\n")


def test_renaming_is_refused_like_kubectl(kctl_edit: Edit, kubectl_edit: Edit) -> None:
    a, b = kctl_edit("rename", "deployment", "e-kc"), kubectl_edit("rename", "deployment", "e-ku")
    assert a.returncode == b.returncode == 1
    for r in (a, b):
        stored, error = r.stderr.splitlines()
        assert stored.startswith('A copy of your changes has been stored to "')
        assert error == "error: At least one of apiVersion, kind and name was changed"
