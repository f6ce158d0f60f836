"""The proxy's whole desired iptables state as text for ``iptables-restore``.

The structure is kube-proxy's (iptables mode), under the ``KCTL-`` prefix:

nat
  ``KCTL-SERVICES`` (from PREROUTING and OUTPUT): per ClusterIP:port a jump to the
  service port's ``KCTL-SVC-``; its last rule sends packets to a local address on to
  ``KCTL-NODEPORTS``, which jumps per NodePort to ``KCTL-EXT-`` (mark for masquerade,
  then the same ``KCTL-SVC-``). ``KCTL-SVC-`` marks traffic from outside the cluster
  CIDR for masquerade, then picks an endpoint chain ``KCTL-SEP-`` with
  ``-m statistic --mode random`` (probability 1/n, 1/(n-1), ..., the last
  unconditional), after ``-m recent`` checks when sessionAffinity is ClientIP.
  ``KCTL-SEP-`` marks hairpin traffic (source = the endpoint) and DNATs.
  ``KCTL-POSTROUTING`` masquerades marked packets; ``KCTL-MARK-MASQ`` sets the mark.
filter
  ``KCTL-SERVICES`` (OUTPUT, FORWARD) and ``KCTL-EXTERNAL-SERVICES`` (INPUT, FORWARD),
  for new connections only: REJECT for service ports without ready endpoints, so a
  client gets "connection refused" at once; ``KCTL-FORWARD`` accepts marked and
  established service traffic even under a DROP forward policy.
both
  ``KCTL-PROXY-CANARY``: holds one inert rule and is jumped to from nowhere; when it
  is gone or empty, someone flushed or deleted the proxy's chains.

The masquerade mark is a bit of its own (0x8000 by default), not kube-proxy's 0x4000,
so a real kube-proxy on the same machine and kctl never clear each other's marks.

A :class:`Ruleset` is chains -> rule lines per table; :func:`render` writes any subset
of its chains (the syncer's partial restores) plus ``-X`` lines for stale chains.
The jumps from the built-in chains are :data:`HOOKS`: ``iptables-restore --noflush``
cannot add them idempotently, so the syncer ensures them with ``iptables -C``/``-I``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from node.network.config import DEFAULT_MASQUERADE_MARK
from node.proxy import chains
from node.proxy.model import ServicePort

TABLES = ("filter", "nat")  # the order kube-proxy writes them in
REJECT = "-j REJECT --reject-with icmp-port-unreachable"

Chains = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class RulesConfig:
    """What the rules depend on besides the services."""

    cluster_cidr: str = ""  # traffic to a ClusterIP from outside it is masqueraded
    masquerade_mark: int = DEFAULT_MASQUERADE_MARK

    @property
    def mark(self) -> str:
        return f"{self.masquerade_mark:#x}"


@dataclass(frozen=True)
class Hook:
    """A jump from a built-in chain into the proxy's chains."""

    table: str
    chain: str
    rule: tuple[str, ...]


def _hook(table: str, chain: str, target: str, comment: str, new_only: bool = False) -> Hook:
    state = ("-m", "conntrack", "--ctstate", "NEW") if new_only else ()
    return Hook(table, chain, (*state, "-m", "comment", "--comment", comment, "-j", target))


HOOKS: tuple[Hook, ...] = (
    _hook(
        "filter", "INPUT", chains.EXTERNAL_SERVICES, "kctl externally-visible service portals", True
    ),
    _hook(
        "filter",
        "FORWARD",
        chains.EXTERNAL_SERVICES,
        "kctl externally-visible service portals",
        True,
    ),
    _hook("filter", "FORWARD", chains.SERVICES, "kctl service portals", True),
    _hook("filter", "OUTPUT", chains.SERVICES, "kctl service portals", True),
    _hook("filter", "FORWARD", chains.FORWARD, "kctl forwarding rules"),
    _hook("nat", "PREROUTING", chains.SERVICES, "kctl service portals"),
    _hook("nat", "OUTPUT", chains.SERVICES, "kctl service portals"),
    _hook("nat", "POSTROUTING", chains.POSTROUTING, "kctl postrouting rules"),
)


@dataclass
class Ruleset:
    """Per table, the proxy's chains in order with their ``-A`` lines."""

    tables: dict[str, Chains] = field(default_factory=lambda: {t: {} for t in TABLES})

    def chain_names(self, table: str) -> set[str]:
        return set(self.tables[table])

    def line_count(self) -> int:
        return sum(len(rules) for t in self.tables.values() for rules in t.values())


def _match(sp: ServicePort, port: int) -> str:
    return f"-p {sp.proto} -m {sp.proto} --dport {port}"


def _comment(text: str) -> str:
    return f'-m comment --comment "{text}"'


@dataclass(frozen=True)
class PortRules:
    """One service port's share of the ruleset (memoized per :class:`ServicePort`)."""

    nat_services: tuple[str, ...]
    nat_nodeports: tuple[str, ...]
    filter_services: tuple[str, ...]
    filter_external: tuple[str, ...]
    nat_chains: tuple[tuple[str, tuple[str, ...]], ...]


def port_rules(sp: ServicePort, config: RulesConfig) -> PortRules:
    dst = f"-d {sp.cluster_ip}/32"
    if not sp.endpoints:
        no_endpoints = _comment(f"{sp.name} has no endpoints")
        external: tuple[str, ...] = ()
        if sp.node_port:
            external = (
                f"-A {chains.EXTERNAL_SERVICES} {no_endpoints} -m addrtype --dst-type LOCAL "
                f"{_match(sp, sp.node_port)} {REJECT}",
            )
        filter_services = (
            f"-A {chains.SERVICES} {dst} {no_endpoints} {_match(sp, sp.port)} {REJECT}",
        )
        return PortRules((), (), filter_services, external, ())

    svc = chains.service_chain(sp)
    cluster_ip = _comment(f"{sp.name} cluster IP")
    nat_services = (f"-A {chains.SERVICES} {dst} {cluster_ip} {_match(sp, sp.port)} -j {svc}",)
    svc_rules: list[str] = []
    if config.cluster_cidr:
        svc_rules.append(
            f"-A {svc} {dst} ! -s {config.cluster_cidr} {cluster_ip} {_match(sp, sp.port)} "
            f"-j {chains.MARK_MASQ}"
        )
    seps = [(ep, chains.endpoint_chain(sp, ep)) for ep in sp.endpoints]
    recent = "--mask 255.255.255.255 --rsource"
    if sp.affinity_timeout:
        for ep, sep in seps:
            svc_rules.append(
                f"-A {svc} {_comment(f'{sp.name} -> {ep.address}')} -m recent --name {sep} {recent} "
                f"--rcheck --seconds {sp.affinity_timeout} --reap -j {sep}"
            )
    n = len(seps)
    for i, (ep, sep) in enumerate(seps):
        pick = (
            f"-m statistic --mode random --probability {1.0 / (n - i):.10f} " if i < n - 1 else ""
        )
        svc_rules.append(f"-A {svc} {_comment(f'{sp.name} -> {ep.address}')} {pick}-j {sep}")

    nat_chains: list[tuple[str, tuple[str, ...]]] = [(svc, tuple(svc_rules))]
    nodeports: tuple[str, ...] = ()
    if sp.node_port:
        ext = chains.external_chain(sp)
        nodeports = (
            f"-A {chains.NODEPORTS} {_comment(sp.name)} {_match(sp, sp.node_port)} -j {ext}",
        )
        masq = _comment(f"masquerade traffic for {sp.name} external destinations")
        nat_chains.append((ext, (f"-A {ext} {masq} -j {chains.MARK_MASQ}", f"-A {ext} -j {svc}")))
    name = _comment(sp.name)
    set_recent = f"-m recent --name {{sep}} {recent} --set " if sp.affinity_timeout else ""
    for ep, sep in seps:
        nat_chains.append(
            (
                sep,
                (
                    f"-A {sep} -s {ep.ip}/32 {name} -j {chains.MARK_MASQ}",
                    f"-A {sep} -p {sp.proto} {name} {set_recent.format(sep=sep)}-m {sp.proto} "
                    f"-j DNAT --to-destination {ep.address}",
                ),
            )
        )
    return PortRules(nat_services, nodeports, (), (), tuple(nat_chains))


def fixed_chains(config: RulesConfig) -> dict[str, Chains]:
    """The chains whose rules do not depend on the services (service rules appended)."""
    mark = f"{config.mark}/{config.mark}"
    canary = (f"-A {chains.CANARY} -j RETURN",)
    return {
        "filter": {
            chains.SERVICES: (),
            chains.EXTERNAL_SERVICES: (),
            chains.FORWARD: (
                f"-A {chains.FORWARD} {_comment('kctl forwarding rules')} -m mark --mark {mark} -j ACCEPT",
                f"-A {chains.FORWARD} {_comment('kctl forwarding conntrack rule')} "
                "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            ),
            chains.CANARY: canary,
        },
        "nat": {
            chains.SERVICES: (),
            chains.NODEPORTS: (),
            chains.POSTROUTING: (
                f"-A {chains.POSTROUTING} -m mark ! --mark {mark} -j RETURN",
                f"-A {chains.POSTROUTING} -j MARK --xor-mark {config.mark}",
                f"-A {chains.POSTROUTING} {_comment('kctl service traffic requiring SNAT')} "
                "-j MASQUERADE --random-fully",
            ),
            chains.MARK_MASQ: (f"-A {chains.MARK_MASQ} -j MARK --or-mark {config.mark}",),
            chains.CANARY: canary,
        },
    }


NODEPORTS_JUMP = (
    f"-A {chains.SERVICES} "
    + _comment("kctl service nodeports; NOTE: this must be the last rule in this chain")
    + f" -m addrtype --dst-type LOCAL -j {chains.NODEPORTS}"
)


class RulesetBuilder:
    """Builds :class:`Ruleset` s, reusing each unchanged service port's rules."""

    def __init__(self, config: RulesConfig) -> None:
        self.config = config
        self._memo: dict[ServicePort, PortRules] = {}

    def build(self, ports: Iterable[ServicePort]) -> Ruleset:
        memo: dict[ServicePort, PortRules] = {}
        parts = []
        for sp in ports:
            rules = memo.get(sp) or self._memo.get(sp) or port_rules(sp, self.config)
            memo[sp] = rules
            parts.append(rules)
        self._memo = memo
        tables = fixed_chains(self.config)
        nat, filt = tables["nat"], tables["filter"]
        nat[chains.SERVICES] = (*(r for p in parts for r in p.nat_services), NODEPORTS_JUMP)
        nat[chains.NODEPORTS] = tuple(r for p in parts for r in p.nat_nodeports)
        filt[chains.SERVICES] = tuple(r for p in parts for r in p.filter_services)
        filt[chains.EXTERNAL_SERVICES] = tuple(r for p in parts for r in p.filter_external)
        for p in parts:
            nat.update(p.nat_chains)
        return Ruleset(tables)


def build_ruleset(ports: Iterable[ServicePort], config: RulesConfig) -> Ruleset:
    return RulesetBuilder(config).build(ports)


def render(
    ruleset: Ruleset,
    write: Mapping[str, Iterable[str]] | None = None,
    delete: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """``iptables-restore --noflush`` input: declare (so flush) and fill the chains in
    ``write`` (default: all), then flush and delete the chains in ``delete``."""
    out: list[str] = []
    for table in TABLES:
        have = ruleset.tables[table]
        if write is None:
            names: Sequence[str] = list(have)
        else:
            wanted = set(write.get(table, ()))
            names = [c for c in have if c in wanted]
        stale = sorted(set((delete or {}).get(table, ())) - set(have))
        if not names and not stale:
            continue
        out.append(f"*{table}")
        out.extend(f":{name} - [0:0]" for name in (*names, *stale))
        for name in names:
            out.extend(have[name])
        out.extend(f"-X {name}" for name in stale)
        out.append("COMMIT")
    return "\n".join(out) + "\n" if out else ""
