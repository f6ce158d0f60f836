"""``kctl config`` side by side with kubectl 1.32 on the same kubeconfig files.

These commands only read and write files, so every case runs both CLIs on a copy of
the same kubeconfig and compares their output, exit code and the file afterwards.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import kubeobjects as ko
from tests.cli.kubeobjects import Result, Runner, same

pytestmark = pytest.mark.kubectl
kc_fixture = ko.kc_fixture

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: QUJDREVG
- name: dev
  cluster:
    server: http://localhost:8080
    insecure-skip-tls-verify: true
- name: files
  cluster:
    server: https://files.example:6443
    certificate-authority: certs/ca.crt
contexts:
- name: prod
  context: {cluster: prod, user: admin, namespace: web}
- name: dev
  context: {cluster: dev, user: dev}
- name: files
  context: {cluster: files, user: files, namespace: "true"}
current-context: prod
preferences: {}
users:
- name: admin
  user:
    token: s3cr3t-token
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
- name: dev
  user:
    username: dev
    password: pa55
- name: files
  user:
    client-certificate: certs/user.crt
    client-key: certs/user.key
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """Two identical kubeconfig directories: one for kctl, one for kubectl."""
    made = []
    for side in ("kctl", "kubectl"):
        base = tmp_path / side
        (base / "certs").mkdir(parents=True)
        (base / "certs" / "ca.crt").write_text("CA\n")
        (base / "certs" / "user.crt").write_text("CERT\n")
        (base / "certs" / "user.key").write_text("KEY\n")
        (base / "config").write_text(KUBECONFIG)
        made.append(base / "config")
    return made[0], made[1]


def kubectl_env(kubeconfig: str, *args: str) -> Result:
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "KUBECACHEDIR": str(Path(kubeconfig.split(":")[0]).parent / "cache"),
    }
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=60)


def compare(kc: Runner, files: tuple[Path, Path], *args: str) -> Result:
    ours, theirs = files
    return same(
        lambda: kc("--kubeconfig", str(ours), *args, check=False),
        lambda: kubectl_env(str(theirs), "--kubeconfig", str(theirs), *args),
    )


@pytest.mark.parametrize(
    "args",
    [
        ("config", "current-context"),
        ("config", "get-contexts"),
        ("config", "get-contexts", "dev"),
        ("config", "get-contexts", "nope"),
        ("config", "get-contexts", "prod", "nope", "nope2"),
        ("config", "get-contexts", "-o", "name"),
        ("config", "get-contexts", "--no-headers"),
        ("config", "view"),
        ("config", "view", "--minify"),
        ("config", "view", "--minify", "--raw"),
        ("config", "view", "--minify", "--context", "dev"),
        ("config", "view", "--minify", "--context=files", "--flatten"),
        ("config", "view", "--flatten"),
        ("config", "view", "--raw"),
        ("config", "view", "-o", "json"),
        ("config", "view", "-o", "json", "--minify"),
        ("config", "use-context", "nope"),
    ],
)
def test_reads_like_kubectl(kc: Runner, files: tuple[Path, Path], args: tuple[str, ...]) -> None:
    compare(kc, files, *args)


def test_view_redacts_secrets(kc: Runner, files: tuple[Path, Path]) -> None:
    shown = kc("--kubeconfig", str(files[0]), "config", "view").stdout
    assert "s3cr3t-token" not in shown and "pa55" not in shown and "QUJDREVG" not in shown
    assert "token: REDACTED" in shown and "password: REDACTED" in shown
    assert "certificate-authority-data: DATA+OMITTED" in shown


def test_use_context_rewrites_the_file_like_kubectl(kc: Runner, files: tuple[Path, Path]) -> None:
    result = compare(kc, files, "config", "use-context", "dev")
    assert result.stdout == 'Switched to context "dev".\n'
    assert files[0].read_text() == files[1].read_text()
    assert compare(kc, files, "config", "current-context").stdout == "dev\n"


def test_merged_files_and_where_use_context_writes(kc: Runner, tmp_path: Path) -> None:
    """$KUBECONFIG with two files: merged first-wins, and current-context written to
    the first existing file (even though the second is the one that sets it)."""
    sides = []
    for side in ("kctl", "kubectl"):
        base = tmp_path / side
        base.mkdir()
        first, second = base / "a.yaml", base / "b.yaml"
        first.write_text(KUBECONFIG.replace("current-context: prod\n", ""))
        second.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: other\nclusters:\n"
            "- name: prod\n  cluster: {server: https://shadowed:1}\n"
            "contexts:\n- name: other\n  context: {cluster: prod, user: admin}\n"
        )
        sides.append(f"{first}:{second}")
    for args in (("config", "view"), ("config", "get-contexts"), ("config", "use-context", "dev")):
        same(
            functools.partial(kc, *args, check=False, kubeconfig=sides[0]),
            functools.partial(kubectl_env, sides[1], *args),
        )
    for name in ("a.yaml", "b.yaml"):
        assert (tmp_path / "kctl" / name).read_text() == (tmp_path / "kubectl" / name).read_text()
    assert "current-context: dev" in (tmp_path / "kctl" / "a.yaml").read_text()


def test_config_as_a_process(kctl: Runner, files: tuple[Path, Path]) -> None:
    """The real command line end to end."""
    assert kctl("--kubeconfig", str(files[0]), "config", "current-context").stdout == "prod\n"
    missing = kctl("--kubeconfig", str(files[0]), "config", "use-context", "nope", check=False)
    assert (missing.returncode, missing.stderr) == (
        1,
        'error: no context exists with the name: "nope"\n',
    )
    assert shutil.which("kubectl")
