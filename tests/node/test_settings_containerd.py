"""``kctl node --runtime containerd`` and ``--cleanup`` options."""

from __future__ import annotations

import os

import pytest

from node.settings import parse_args


def test_containerd_options_and_machine_capacity(tmp_path: object) -> None:
    s = parse_args(
        [
            "--runtime",
            "containerd",
            "--name",
            "n1",
            "--data-dir",
            "/tmp/x/y",
            "--pod-cidr",
            "10.250.8.0/24",
            "--registry",
            "127.0.0.1:5000",
            "--agent-port",
            "10251",
            "--cluster-dns",
            "10.96.0.53",
        ]
    )
    assert (s.data_dir, s.pod_cidr, s.registry, s.agent_port, s.cluster_dns) == (
        "/tmp/x/y",
        "10.250.8.0/24",
        "127.0.0.1:5000",
        10251,
        "10.96.0.53",
    )
    cap = s.capacity()
    assert (
        cap["cpu"] == str(os.cpu_count()) and cap["memory"].endswith("Ki") and cap["pods"] == "110"
    )
    assert (
        parse_args(
            ["--runtime", "containerd", "--name", "n1", "--data-dir", "/d", "--cpu", "3"]
        ).capacity()["cpu"]
        == "3"
    )
    hollow = parse_args(["--count", "2"]).capacity()
    assert (hollow["cpu"], hollow["memory"], hollow["ephemeral-storage"]) == ("4", "16Gi", "100Gi")


def test_cleanup_needs_name_and_data_dir() -> None:
    s = parse_args(["--name", "n1", "--data-dir", "/d", "--cleanup"])
    assert s.cleanup and s.name == "n1"


@pytest.mark.parametrize(
    "argv",
    [
        ["--runtime", "containerd", "--name", "n1"],  # no data dir
        ["--runtime", "containerd", "--count", "2", "--data-dir", "/d"],
        [
            "--runtime",
            "containerd",
            "--name",
            "n1",
            "--data-dir",
            "/d",
            "--containerd-socket",
            "/s",
        ],
        ["--runtime", "containerd", "--name", "n1", "--data-dir", "/d", "--pod-cidr", "nope"],
        ["--cleanup", "--name", "n1"],
        ["--cleanup", "--data-dir", "/d"],
    ],
)
def test_bad_containerd_input_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err
