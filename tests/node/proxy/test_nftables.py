"""The nftables ruleset: golden text, reference checks, plans, and ``nft -c`` itself.

Regenerate the dumps after an intended change with ``KCTL_UPDATE_GOLDEN=1`` and read
the diff before committing it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from node.proxy import nftables as nf
from node.proxy.model import Endpoint, ModelCache, ServicePort
from node.proxy.nft import offending_lines
from node.proxy.ruleset import RulesConfig
from tests.node.proxy.kernel import needs_nft
from tests.node.proxy.nftcheck import dangling_references
from tests.node.proxy.test_ruleset_golden import cluster

GOLDEN = Path(__file__).parent / "golden"
CONFIG = RulesConfig(cluster_cidr="10.244.0.0/16")

Objects = Sequence[tuple[dict[str, Any], dict[str, Any] | None]]


def ports_of(objects: Objects) -> list[ServicePort]:
    svcs = {f"{s['metadata']['namespace']}/{s['metadata']['name']}": s for s, _ in objects}
    eps = {f"{s['metadata']['namespace']}/{s['metadata']['name']}": e for s, e in objects if e}
    return ModelCache().build(svcs.items(), eps.get)


def full_text(objects: Objects, config: RulesConfig = CONFIG) -> str:
    desired = nf.build_ruleset(ports_of(objects), config)
    return nf.render(desired, nf.plan(desired, None, None))


def sp(name: str, ips: list[str], *, node_port: int = 0, affinity: int = 0) -> ServicePort:
    eps = tuple(Endpoint(ip, 8080) for ip in ips)
    return ServicePort(
        "default", name, "http", "TCP", f"10.96.0.{len(name)}", 80, node_port, affinity, eps
    )


CASES: dict[str, Objects] = {"empty": [], "cluster": cluster()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    text = full_text(CASES[case])
    path = GOLDEN / f"nft-{case}.txt"
    if os.environ.get("KCTL_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_reference_is_declared(case: str) -> None:
    assert dangling_references(full_text(CASES[case])) == []


def test_checker_finds_dangling_references() -> None:
    t = nf.QUALIFIED
    text = (
        f"add chain {t} a\nadd rule {t} a jump b\nadd rule {t} c accept\n"
        f"add rule {t} a ip saddr @s goto a\ndelete chain {t} a\nadd rule {t} a accept\n"
    )
    assert dangling_references(text) == [
        "line 2: jump target b is not declared",
        "line 3: chain c is not declared",
        "line 4: set s is not declared",
        "line 6: chain a is deleted",
    ]
    assert dangling_references(text.rsplit("delete", 1)[0], existing=["b", "c", "s"]) == []


def test_names_are_kube_proxys_scheme_and_valid() -> None:
    port = sp("web", ["10.244.0.2"], affinity=60)
    assert nf.service_chain(port).startswith("service-")
    assert nf.service_chain(port).endswith("-default/web/tcp/http")
    assert nf.endpoint_chain(port, port.endpoints[0]).endswith("/http__10.244.0.2/8080")
    long = ServicePort("n" * 63, "s" * 63, "p" * 63, "TCP", "10.96.0.1", 80)
    assert len(nf.service_chain(long)) <= len("service-") + nf.MAX_NAME_BASE
    # the timeout is part of an affinity set's identity: a new timeout is a new set
    assert nf.affinity_set(port, port.endpoints[0]) != nf.affinity_set(
        sp("web", ["10.244.0.2"], affinity=61), port.endpoints[0]
    )


def test_spread_is_uniform_over_every_endpoint() -> None:
    rules = nf.port_objects(sp("web", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]), CONFIG).chains[0][1]
    assert rules[-1] == (
        "meta l4proto tcp dnat ip addr . port to numgen random mod 3 map "
        "{ 0 : 10.0.0.1 . 8080, 1 : 10.0.0.2 . 8080, 2 : 10.0.0.3 . 8080 }"
    )


@pytest.mark.parametrize(
    ("port", "chains", "maps"),
    [
        (sp("web", ["10.0.0.1", "10.0.0.2"]), 1, {nf.SERVICE_IPS: 1, nf.HAIRPIN: 2}),
        (
            sp("web", ["10.0.0.1"], node_port=30080),
            2,
            {nf.SERVICE_IPS: 1, nf.SERVICE_NODEPORTS: 1, nf.HAIRPIN: 1},
        ),
        (
            sp("web", [], node_port=30080),
            0,
            {nf.NO_ENDPOINT_SERVICES: 1, nf.NO_ENDPOINT_NODEPORTS: 1},
        ),
        (sp("web", ["10.0.0.1", "10.0.0.2"], affinity=30), 3, {nf.SERVICE_IPS: 1, nf.HAIRPIN: 2}),
    ],
)
def test_port_objects(port: ServicePort, chains: int, maps: dict[str, int]) -> None:
    objects = nf.port_objects(port, CONFIG)
    assert len(objects.chains) == chains
    counted: dict[str, int] = {}
    for name, _, _ in objects.elements:
        counted[name] = counted.get(name, 0) + 1
    assert counted == maps
    assert len(objects.sets) == (len(port.endpoints) if port.affinity_timeout else 0)


def test_partial_plan_touches_only_what_changed() -> None:
    builder = nf.NftBuilder(CONFIG)
    a, b = sp("a", ["10.0.0.1"]), sp("bb", ["10.0.0.2", "10.0.0.3"], affinity=30)
    before = builder.build([a, b])
    after = builder.build([a, sp("bb", ["10.0.0.2", "10.0.0.4"], affinity=30)])
    plan = nf.plan(after, before, None)
    assert not plan.full
    old_ep, new_ep = Endpoint("10.0.0.3", 8080), Endpoint("10.0.0.4", 8080)
    assert plan.write == [nf.service_chain(b), nf.endpoint_chain(b, new_ep)]
    assert plan.flush == {nf.service_chain(b)}
    assert plan.delete_chains == [nf.endpoint_chain(b, old_ep)]
    assert plan.add_sets == [nf.affinity_set(b, new_ep)]
    assert plan.delete_sets == [nf.affinity_set(b, old_ep)]
    assert plan.delete_elements[nf.HAIRPIN] == ["10.0.0.3 . 10.0.0.3"]
    assert plan.add_elements[nf.HAIRPIN] == [("10.0.0.4 . 10.0.0.4", "")]
    assert not plan.delete_elements[nf.SERVICE_IPS] and not plan.add_elements[nf.SERVICE_IPS]
    text = nf.render(after, plan)
    assert "add table" not in text and "flush map" not in text
    fixed = [*nf.fixed_chains(CONFIG), *nf.COLLECTIONS]
    assert dangling_references(text, [*before.chains, *before.sets, *fixed]) == []
    # deletions come last, after every reference to them is gone
    lines = text.splitlines()
    assert lines.index(f"delete set {nf.QUALIFIED} {nf.affinity_set(b, old_ep)}") == len(lines) - 1
    assert nf.render(after, nf.plan(after, after, None)) == ""


def test_an_endpoint_shared_by_two_services_keeps_its_hairpin_element() -> None:
    builder = nf.NftBuilder(CONFIG)
    before = builder.build([sp("a", ["10.0.0.1"]), sp("bb", ["10.0.0.1"])])
    after = builder.build([sp("a", ["10.0.0.1"]), sp("bb", [])])
    plan = nf.plan(after, before, None)
    assert plan.delete_elements[nf.HAIRPIN] == []
    assert plan.delete_chains == [nf.service_chain(sp("bb", []))]
    assert plan.delete_elements[nf.SERVICE_IPS] == ["10.96.0.2 . tcp . 80"]
    assert plan.add_elements[nf.NO_ENDPOINT_SERVICES] == [
        ("10.96.0.2 . tcp . 80", "goto reject-chain")
    ]


def test_full_plan_removes_leftovers_found_in_the_kernel() -> None:
    desired = nf.build_ruleset([sp("a", ["10.0.0.1"], affinity=30)], CONFIG)
    found = nf.Existing(
        chains=frozenset({nf.SERVICES, "service-AAAAAAAA-x/y/tcp/"}),
        sets=frozenset({nf.HAIRPIN, "affinity-AAAAAAAA-x/y/tcp/__10.0.0.9/80"}),
    )
    plan = nf.plan(desired, None, found)
    assert plan.full and plan.flush == {nf.SERVICES}
    assert plan.delete_chains == ["service-AAAAAAAA-x/y/tcp/"]
    assert plan.delete_sets == ["affinity-AAAAAAAA-x/y/tcp/__10.0.0.9/80"]  # never our own
    text = nf.render(desired, plan)
    assert text.startswith(f"add table {nf.QUALIFIED}\n")
    assert f"flush chain {nf.QUALIFIED} {nf.SERVICES}\n" in text
    assert text.count("flush chain") == 2  # services, and the stale one before its deletion


def test_builder_reuses_objects_of_unchanged_ports() -> None:
    builder = nf.NftBuilder(CONFIG)
    a = sp("a", ["10.0.0.1"])
    first = builder.build([a])
    second = builder.build([a])
    name = nf.service_chain(a)
    assert first.chains[name] is second.chains[name]


def test_offending_lines_are_found_in_nft_errors() -> None:
    text = "add table ip t\nadd chain ip t c\nadd rule ip t c bogus\n"
    stderr = (
        "/dev/stdin:3:18-22: Error: syntax error, unexpected string\n"
        "add rule ip t c bogus\n                 ^^^^^\n"
    )
    assert offending_lines(stderr, text) == [(3, "add rule ip t c bogus")]


@needs_nft
@pytest.mark.parametrize("case", sorted(CASES))
def test_nft_accepts_it(case: str) -> None:
    """``nft -c``: parsed and checked by the kernel, nothing committed."""
    done = subprocess.run(
        ["nft", "-c", "-f", "-"], input=full_text(CASES[case]), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
