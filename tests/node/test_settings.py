"""The agent's command line: node names, capacity, validation."""

from __future__ import annotations

import socket

import pytest

from node.settings import parse_args


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--count", "3"], ["hollow-0", "hollow-1", "hollow-2"]),
        (["--count", "2", "--name-prefix", "n-"], ["n-0", "n-1"]),
        (["--name", "solo"], ["solo"]),
        (["--name-prefix", "x"], ["x0"]),
        ([], [socket.gethostname().lower()]),
    ],
)
def test_node_names(argv: list[str], names: list[str]) -> None:
    assert parse_args(argv).node_names() == names


def test_capacity_is_canonical_and_options_parsed() -> None:
    s = parse_args(
        [
            "--cpu",
            "2000m",
            "--memory",
            "1024Mi",
            "--pods",
            "50",
            "--node-labels",
            "a=1,b=2",
            "--node-labels",
            "c=3",
            "--lease-renew-interval",
            "0.5",
            "--kubeconfig",
            "/k",
            "-v",
            "4",
        ]
    )
    assert s.capacity() == {"cpu": "2", "memory": "1Gi", "pods": "50", "ephemeral-storage": "100Gi"}
    assert s.node_labels == {"a": "1", "b": "2", "c": "3"}
    assert s.lease_renew_interval == 0.5 and s.kubeconfig == "/k" and s.verbosity == 4


@pytest.mark.parametrize(
    "argv",
    [
        ["--count", "0"],
        ["--count", "2", "--name", "a"],
        ["--memory", "lots"],
        ["--node-labels", "novalue"],
        ["--runtime", "docker"],
        ["--count", "2", "--node-ip", "10.0.0.1"],
    ],
)
def test_bad_input_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_proxy_mode_defaults_by_runtime_and_hollow_refuses_rules() -> None:
    from node.settings import parse_args as parse

    assert parse(["--runtime", "hollow", "--count", "2"]).effective_proxy_mode() == "none"
    containerd = parse(["--runtime", "containerd", "--name", "n", "--data-dir", "/tmp/x"])
    assert containerd.effective_proxy_mode() == "iptables"
    with pytest.raises(SystemExit):
        parse(["--runtime", "hollow", "--proxy-mode", "iptables"])
