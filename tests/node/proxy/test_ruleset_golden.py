"""The generated ruleset, compared whole to expected dumps, and checked by iptables itself.

Regenerate the dumps after an intended change with ``KCTL_UPDATE_GOLDEN=1`` and read
the diff before committing it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from node.proxy.model import ModelCache
from node.proxy.ruleset import RulesConfig, RulesetBuilder, build_ruleset, render
from tests.node.proxy.fixtures import endpoints, service
from tests.node.proxy.restorecheck import dangling_jumps

GOLDEN = Path(__file__).parent / "golden"
HTTP = {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}


def cluster() -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """One of each kind of service the proxy handles differently."""
    return [
        (  # three ready endpoints, one not ready (not programmed)
            service("web", "10.96.10.1", [HTTP]),
            endpoints(
                "web",
                [
                    (
                        ["10.244.0.4", "10.244.0.2", "10.244.1.3"],
                        ["10.244.1.9"],
                        [{"name": "http", "port": 8080}],
                    )
                ],
            ),
        ),
        (  # NodePort with ClientIP affinity
            service(
                "api", "10.96.10.2", [{**HTTP, "nodePort": 30080}], type_="NodePort", affinity=60
            ),
            endpoints(
                "api", [(["10.244.0.7", "10.244.1.8"], [], [{"name": "http", "port": 8080}])]
            ),
        ),
        (  # UDP and TCP DNS, no endpoints yet: REJECTs
            service(
                "dns",
                "10.96.0.10",
                [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53}],
                namespace="kube-system",
            ),
            None,
        ),
        (  # a NodePort without endpoints: REJECT on the node's addresses too
            service("idle", "10.96.10.3", [{**HTTP, "nodePort": 30081}], type_="NodePort"),
            endpoints("idle", [([], ["10.244.0.9"], [{"name": "http", "port": 8080}])]),
        ),
        (service("headless", "None", [HTTP]), None),  # no rules at all
    ]


def ruleset_text(objects: Sequence[tuple[dict[str, Any], dict[str, Any] | None]], cidr: str) -> str:
    svcs = {f"{s['metadata']['namespace']}/{s['metadata']['name']}": s for s, _ in objects}
    eps = {f"{s['metadata']['namespace']}/{s['metadata']['name']}": e for s, e in objects if e}
    ports = ModelCache().build(svcs.items(), eps.get)
    return render(build_ruleset(ports, RulesConfig(cluster_cidr=cidr)))


CASES = {
    "empty": ([], ""),
    "cluster": (cluster(), "10.244.0.0/16"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    objects, cidr = CASES[case]
    text = ruleset_text(objects, cidr)
    path = GOLDEN / f"{case}.txt"
    if os.environ.get("KCTL_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_jump_target_exists(case: str) -> None:
    objects, cidr = CASES[case]
    assert dangling_jumps(ruleset_text(objects, cidr)) == []


def test_checker_finds_dangling_jumps() -> None:
    text = "*nat\n:KCTL-A - [0:0]\n:KCTL-B - [0:0]\n-A KCTL-A -j KCTL-B\n-A KCTL-A -j KCTL-C\n-A KCTL-D -j ACCEPT\n-X KCTL-B\nCOMMIT\n"
    assert dangling_jumps(text) == [
        "line 4: jump to deleted chain KCTL-B",
        "line 5: jump to unknown chain KCTL-C (nat)",
        "line 6: rule appended to unknown chain KCTL-D",
    ]
    assert dangling_jumps(text.replace("-X KCTL-B\n", ""), {"nat": ["KCTL-C", "KCTL-D"]}) == []


def test_partial_render_writes_only_the_named_chains_and_deletes_stale_ones() -> None:
    ruleset = RulesetBuilder(RulesConfig()).build([])
    text = render(ruleset, {"nat": {"KCTL-SERVICES"}}, {"nat": {"KCTL-SVC-AAAAAAAAAAAAAAAA"}})
    assert text == (
        "*nat\n:KCTL-SERVICES - [0:0]\n:KCTL-SVC-AAAAAAAAAAAAAAAA - [0:0]\n"
        '-A KCTL-SERVICES -m comment --comment "kctl service nodeports; NOTE: this must be the '
        'last rule in this chain" -m addrtype --dst-type LOCAL -j KCTL-NODEPORTS\n'
        "-X KCTL-SVC-AAAAAAAAAAAAAAAA\nCOMMIT\n"
    )
    assert render(ruleset, {}, {}) == ""


def test_probabilities_spread_evenly() -> None:
    # With n endpoints the i-th rule takes 1/(n-i) of what reaches it: each gets 1/n.
    objects = [
        (
            service("web", "10.96.10.1", [HTTP]),
            endpoints(
                "web",
                [([f"10.244.0.{i}" for i in range(2, 6)], [], [{"name": "http", "port": 80}])],
            ),
        )
    ]
    lines = [line for line in ruleset_text(objects, "").splitlines() if "--probability" in line]
    probabilities = [float(line.split("--probability ")[1].split()[0]) for line in lines]
    assert probabilities == pytest.approx([0.25, 1 / 3, 0.5])


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("iptables-restore") is None, reason="needs root and iptables"
)
@pytest.mark.parametrize("case", sorted(CASES))
def test_iptables_restore_accepts_it(case: str) -> None:
    objects, cidr = CASES[case]
    done = subprocess.run(
        ["iptables-restore", "-w", "5", "--test", "--noflush"],
        input=ruleset_text(objects, cidr),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
