"""Kubeconfig loading (kubectl's precedence and merge rules) and writing."""

from __future__ import annotations

import base64
import os
import stat
import textwrap
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from kctl.client.kubeconfig import (
    ConfigError,
    kubeconfig_paths,
    load_client_config,
    load_kubeconfig,
    parse_kubeconfig,
    write_kubeconfig,
)

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_write_kubeconfig_layout_and_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "config"
    write_kubeconfig(target, "kctl-dev", "https://127.0.0.1:6443", CA, "admin", "tok123", "apps")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    doc = YAML(typ="safe").load(target.read_text())
    assert doc["apiVersion"] == "v1" and doc["kind"] == "Config"
    assert doc["current-context"] == "kctl-dev"
    assert doc["clusters"] == [
        {
            "name": "kctl-dev",
            "cluster": {
                "server": "https://127.0.0.1:6443",
                "certificate-authority-data": base64.b64encode(CA).decode(),
            },
        }
    ]
    assert doc["contexts"] == [
        {
            "name": "kctl-dev",
            "context": {"cluster": "kctl-dev", "user": "admin", "namespace": "apps"},
        }
    ]
    assert doc["users"] == [{"name": "admin", "user": {"token": "tok123"}}]
    # no temp files left behind
    assert sorted(p.name for p in target.parent.iterdir()) == ["config"]


def test_write_then_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "config"
    write_kubeconfig(path, "c1", "https://10.0.0.1:6443", CA, "me", "t")
    cfg = load_client_config(path)
    assert cfg.server == "https://10.0.0.1:6443"
    assert cfg.ca_pem == CA
    assert cfg.token == "t"
    assert cfg.namespace == "default"
    assert (cfg.context, cfg.cluster, cfg.user) == ("c1", "c1", "me")
    # overwrite replaces atomically and keeps 0600
    write_kubeconfig(path, "c2", "https://10.0.0.2:6443", CA, "me", "t2")
    assert load_client_config(path).server == "https://10.0.0.2:6443"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


FIRST = """
    apiVersion: v1
    kind: Config
    current-context: one
    clusters:
    - name: shared
      cluster: {server: "https://first:6443", insecure-skip-tls-verify: true}
    contexts:
    - name: one
      context: {cluster: shared, user: alice, namespace: ns-one}
    users:
    - name: alice
      user: {token: alice-token}
"""

SECOND = """
    apiVersion: v1
    kind: Config
    current-context: two
    clusters:
    - name: shared
      cluster: {server: "https://second:6443"}
    - name: other
      cluster: {server: "https://other:6443", certificate-authority: ca.crt}
    contexts:
    - name: two
      context: {cluster: other, user: bob}
    users:
    - name: bob
      user: {tokenFile: bob.token}
"""


def test_kubeconfig_env_merges_first_wins(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", FIRST)
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    b = write(b_dir / "b.yaml", SECOND)
    (b_dir / "ca.crt").write_bytes(CA)
    (b_dir / "bob.token").write_text("bob-token\n")
    env = {"KUBECONFIG": f"{a}:{tmp_path / 'missing.yaml'}:{b}"}
    merged = load_kubeconfig(env=env)
    assert merged.current_context == "one"  # first file that sets it
    assert merged.clusters["shared"].server == "https://first:6443"  # first definition wins
    assert set(merged.contexts) == {"one", "two"}
    assert merged.sources == (a, b)

    one = merged.resolve()
    assert (one.server, one.namespace, one.token) == ("https://first:6443", "ns-one", "alice-token")
    assert one.insecure_skip_tls_verify is True

    # --context override; relative files resolved next to the file that names them
    two = merged.resolve("two")
    assert two.server == "https://other:6443"
    assert two.ca_pem == CA
    assert two.token == "bob-token"
    assert two.namespace == "default"
    assert merged.resolve("two", namespace="x").namespace == "x"


def test_explicit_path_wins_and_must_exist(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", FIRST)
    env = {"KUBECONFIG": str(tmp_path / "nope.yaml")}
    assert load_client_config(a, env=env).context == "one"
    with pytest.raises(ConfigError, match="does not exist"):
        load_kubeconfig(tmp_path / "nope.yaml")


def test_default_path_is_home_kube_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".kube").mkdir()
    write(tmp_path / ".kube" / "config", FIRST)
    paths, required = kubeconfig_paths(env={})
    assert paths == [tmp_path / ".kube" / "config"] and required is False
    assert load_client_config(env={}).server == "https://first:6443"


def test_missing_everything_gives_clear_errors(tmp_path: Path) -> None:
    empty = load_kubeconfig(env={"KUBECONFIG": str(tmp_path / "none")})
    with pytest.raises(ConfigError, match="no context"):
        empty.resolve()
    cfg = parse_kubeconfig(textwrap.dedent(FIRST))
    with pytest.raises(ConfigError, match='context "nope" does not exist'):
        cfg.resolve("nope")
    broken = parse_kubeconfig(
        "contexts:\n- name: x\n  context: {cluster: shared, user: ghost}\n"
        "clusters:\n- name: shared\n  cluster: {server: 'https://s'}\n"
    )
    with pytest.raises(ConfigError, match='user "ghost"'):
        broken.resolve("x")
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_kubeconfig("clusters: [")


def test_client_certificate_data(tmp_path: Path) -> None:
    text = f"""
    current-context: c
    clusters:
    - name: k
      cluster: {{server: "https://k:6443", certificate-authority-data: {base64.b64encode(CA).decode()}}}
    contexts:
    - name: c
      context: {{cluster: k, user: u}}
    users:
    - name: u
      user:
        client-certificate-data: {base64.b64encode(b"CERT").decode()}
        client-key: key.pem
    """
    (tmp_path / "key.pem").write_bytes(b"KEY")
    cfg = load_client_config(write(tmp_path / "cfg", text))
    assert (cfg.ca_pem, cfg.client_cert_pem, cfg.client_key_pem) == (CA, b"CERT", b"KEY")
    assert cfg.token is None
