"""The proxy's desired nftables state, and the ``nft -f`` text that gets the kernel there.

The structure is kube-proxy's nftables mode, in a table of the project's own,
``table ip kctl-proxy``: nothing outside it is ever touched, so ``nft delete table ip
kctl-proxy`` is the whole cleanup. Lookups are verdict maps, so the cost of a packet
and of a change does not grow with the number of services:

* base chains ``nat-prerouting`` / ``nat-output`` (priority -100, dstnat) jump to
  ``services``: ``ip daddr . meta l4proto . th dport vmap @service-ips`` sends a
  ClusterIP:port to its ``service-`` chain, and ``fib daddr type local`` traffic goes
  through ``@service-nodeports`` to the NodePort's ``external-`` chain (marks for
  masquerade, then the same ``service-`` chain). NodePorts answer on every local
  address, 127.0.0.1 included (unlike kube-proxy, as the iptables mode does here);
* ``service-`` chains mark traffic from outside the cluster CIDR for masquerade, then
  DNAT to an endpoint picked by ``numgen random mod N`` in an anonymous map
  (``dnat ip addr . port to numgen random mod 3 map { 0 : 10.244.0.2 . 8080, ... }``);
* with sessionAffinity ClientIP a service port has a chain per endpoint instead, as
  kube-proxy's: ``ip saddr @affinity-... goto endpoint-...`` per endpoint, then
  ``numgen random mod N vmap { 0 : goto endpoint-..., ... }``; the ``endpoint-`` chain
  records the client in its set (``update @affinity-... { ip saddr }``: ``flags
  dynamic,timeout``, so entries expire by themselves) and DNATs;
* hairpin traffic (a pod reaching itself through its service) is masqueraded in
  ``masquerading``: ``ct status dnat ip saddr . ip daddr @hairpin-endpoints`` with one
  ``ip . ip`` element per endpoint address;
* ``nat-postrouting`` (srcnat) masquerades marked packets (``masquerading``), clearing
  the mark bit (0x8000 by default, the iptables mode's, so both share the node
  network's no-masquerade exception);
* base chains ``filter-input`` / ``filter-forward`` / ``filter-output`` (priority
  -110, before NAT) send new connections to a service port without ready endpoints
  (``@no-endpoint-services``, ``@no-endpoint-nodeports``) to ``reject-chain``: the
  client gets "connection refused" at once; the node network's service-CIDR guard
  (iptables' ``security`` table, priority 150, also nf_tables) runs after all of these;
* ``canary`` holds one rule and is referenced by nothing: gone means someone deleted
  the proxy's table (``nft flush ruleset`` does); see :func:`node.proxy.nft.canary_intact`.

Why no chain per endpoint (kube-proxy has one): nft 1.0.6 (Debian 12) fetches every
chain of the family from the kernel before any ``add rule`` or ``add element``, and
the kernel's chain dump restarts from the first chain for each message, so the cost
grows faster than the number of chains. At 5,000 services x 10 endpoints, 55,000
chains made one change cost 0.5-2 s (measured here); with 5,000 chains it is tens of
milliseconds, and the full load fell from 17 s to under 5 s.

Chain and set names are kube-proxy's: a prefix, 8 characters of a base32 SHA-256 and
the readable ``namespace/service/protocol/port`` (plus ``__ip/port`` for endpoints).
An affinity set's hash also covers the timeout, so a changed timeout is a new set.

Not done here, unlike the iptables mode: accepting service traffic in FORWARD under a
DROP policy. An ``accept`` in this table cannot overrule a ``drop`` of another table
(iptables' filter FORWARD included); kube-proxy's nftables mode has the same limit.

A :class:`NftRuleset` is chains, map elements and sets. :func:`plan` compares it with
what was last written (partial) or with the names found in the kernel (full) and
:func:`render` writes the changes as one ``nft -f`` transaction: chains are declared
before anything refers to them, map elements go before the chains they point at are
deleted, stale chains are flushed before any is deleted.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from node.proxy.model import Endpoint, ServicePort
from node.proxy.ruleset import RulesConfig

FAMILY = "ip"
TABLE = "kctl-proxy"
QUALIFIED = f"{FAMILY} {TABLE}"
MAX_NAME_BASE = 200  # nft allows 256 characters; kube-proxy's limit for the readable part

# fixed chains
NAT_PREROUTING = "nat-prerouting"
NAT_OUTPUT = "nat-output"
NAT_POSTROUTING = "nat-postrouting"
FILTER_INPUT = "filter-input"
FILTER_FORWARD = "filter-forward"
FILTER_OUTPUT = "filter-output"
SERVICES = "services"
MASQUERADING = "masquerading"
MARK_MASQ = "mark-for-masquerade"
SERVICE_ENDPOINTS_CHECK = "service-endpoints-check"
NODEPORT_ENDPOINTS_CHECK = "nodeport-endpoints-check"
REJECT = "reject-chain"
CANARY = "canary"
CANARY_RULE = "counter return"

# maps and sets (sets hold elements without a value)
SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NO_ENDPOINT_SERVICES = "no-endpoint-services"
NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports"
HAIRPIN = "hairpin-endpoints"

BASE_CHAINS = {
    NAT_PREROUTING: "type nat hook prerouting priority -100; policy accept;",
    NAT_OUTPUT: "type nat hook output priority -100; policy accept;",
    NAT_POSTROUTING: "type nat hook postrouting priority 100; policy accept;",
    FILTER_INPUT: "type filter hook input priority -110; policy accept;",
    FILTER_FORWARD: "type filter hook forward priority -110; policy accept;",
    FILTER_OUTPUT: "type filter hook output priority -110; policy accept;",
}
SERVICE_KEY = "ipv4_addr . inet_proto . inet_service"
NODEPORT_KEY = "inet_proto . inet_service"
COLLECTIONS = {  # name -> (map | set, declaration)
    SERVICE_IPS: ("map", f"type {SERVICE_KEY} : verdict;"),
    SERVICE_NODEPORTS: ("map", f"type {NODEPORT_KEY} : verdict;"),
    NO_ENDPOINT_SERVICES: ("map", f"type {SERVICE_KEY} : verdict;"),
    NO_ENDPOINT_NODEPORTS: ("map", f"type {NODEPORT_KEY} : verdict;"),
    HAIRPIN: ("set", "type ipv4_addr . ipv4_addr;"),
}

Chains = dict[str, tuple[str, ...]]
Elements = dict[str, dict[str, str]]  # map or set -> key -> verdict ("" in a set)


# --- names --------------------------------------------------------------------------


def _hashed(prefix: str, base: str, salt: str = "") -> str:
    digest = hashlib.sha256((base + salt).encode()).digest()
    name = base64.b32encode(digest).decode()[:8] + "-" + base
    if len(name) > MAX_NAME_BASE:
        name = name[: MAX_NAME_BASE - 3] + "..."
    return prefix + name


def _port_base(sp: ServicePort) -> str:
    return f"{sp.namespace}/{sp.service}/{sp.proto}/{sp.port_name}"


def _endpoint_base(sp: ServicePort, ep: Endpoint) -> str:
    return f"{_port_base(sp)}__{ep.ip}/{ep.port}"


def service_chain(sp: ServicePort) -> str:
    return _hashed("service-", _port_base(sp))


def external_chain(sp: ServicePort) -> str:
    return _hashed("external-", _port_base(sp))


def endpoint_chain(sp: ServicePort, ep: Endpoint) -> str:
    return _hashed("endpoint-", _endpoint_base(sp, ep))


def affinity_set(sp: ServicePort, ep: Endpoint) -> str:
    return _hashed("affinity-", _endpoint_base(sp, ep), f"/{sp.affinity_timeout}s")


# --- the desired state --------------------------------------------------------------


@dataclass
class NftRuleset:
    """The table's contents: chains with their rules (in order), map elements, sets."""

    chains: Chains = field(default_factory=dict)
    elements: Elements = field(default_factory=lambda: {m: {} for m in COLLECTIONS})
    sets: dict[str, str] = field(default_factory=dict)  # affinity set -> declaration

    def rule_count(self) -> int:
        return sum(map(len, self.chains.values()))


@dataclass(frozen=True)
class PortObjects:
    """One service port's share of the table (memoized per :class:`ServicePort`)."""

    chains: tuple[tuple[str, tuple[str, ...]], ...] = ()
    elements: tuple[tuple[str, str, str], ...] = ()  # (map, key, verdict)
    sets: tuple[tuple[str, str], ...] = ()


def port_objects(sp: ServicePort, config: RulesConfig) -> PortObjects:
    cluster_key = f"{sp.cluster_ip} . {sp.proto} . {sp.port}"
    node_key = f"{sp.proto} . {sp.node_port}"
    if not sp.endpoints:
        reject = f"goto {REJECT}"
        elements = [(NO_ENDPOINT_SERVICES, cluster_key, reject)]
        if sp.node_port:
            elements.append((NO_ENDPOINT_NODEPORTS, node_key, reject))
        return PortObjects(elements=tuple(elements))

    svc = service_chain(sp)
    svc_rules: list[str] = []
    if config.cluster_cidr:
        svc_rules.append(
            f"ip daddr {sp.cluster_ip} {sp.proto} dport {sp.port} "
            f"ip saddr != {config.cluster_cidr} jump {MARK_MASQ}"
        )
    n = len(sp.endpoints)
    chains: list[tuple[str, tuple[str, ...]]] = []
    sets: list[tuple[str, str]] = []
    if sp.affinity_timeout:
        # The pick must be recorded in the picked endpoint's set: a chain per endpoint.
        picks = []
        for i, ep in enumerate(sp.endpoints):
            sep, name = endpoint_chain(sp, ep), affinity_set(sp, ep)
            sets.append(
                (name, f"type ipv4_addr; flags dynamic,timeout; timeout {sp.affinity_timeout}s;")
            )
            svc_rules.append(f"ip saddr @{name} goto {sep}")
            chains.append((sep, (f"update @{name} {{ ip saddr }}", _dnat(sp, ep.address))))
            picks.append(f"{i} : goto {sep}")
        svc_rules.append(f"numgen random mod {n} vmap {{ {', '.join(picks)} }}")
    else:
        targets = ", ".join(f"{i} : {ep.ip} . {ep.port}" for i, ep in enumerate(sp.endpoints))
        svc_rules.append(_dnat(sp, f"numgen random mod {n} map {{ {targets} }}", "ip addr . port "))
    chains.insert(0, (svc, tuple(svc_rules)))

    elements = [(SERVICE_IPS, cluster_key, f"goto {svc}")]
    if sp.node_port:
        ext = external_chain(sp)
        chains.insert(1, (ext, (f"jump {MARK_MASQ}", f"goto {svc}")))
        elements.append((SERVICE_NODEPORTS, node_key, f"goto {ext}"))
    elements.extend((HAIRPIN, f"{ep.ip} . {ep.ip}", "") for ep in sp.endpoints)
    return PortObjects(tuple(chains), tuple(elements), tuple(sets))


def _dnat(sp: ServicePort, to: str, kind: str = "") -> str:
    return f"meta l4proto {sp.proto} dnat {kind}to {to}"


def fixed_chains(config: RulesConfig) -> Chains:
    """The chains whose rules do not depend on the services."""
    mark = config.mark
    new = "ct state new"
    return {
        NAT_PREROUTING: (f"jump {SERVICES}",),
        NAT_OUTPUT: (f"jump {SERVICES}",),
        NAT_POSTROUTING: (f"jump {MASQUERADING}",),
        FILTER_INPUT: (
            f"{new} jump {NODEPORT_ENDPOINTS_CHECK}",
            f"{new} jump {SERVICE_ENDPOINTS_CHECK}",
        ),
        FILTER_FORWARD: (f"{new} jump {SERVICE_ENDPOINTS_CHECK}",),
        FILTER_OUTPUT: (f"{new} jump {SERVICE_ENDPOINTS_CHECK}",),
        SERVICES: (
            f"ip daddr . meta l4proto . th dport vmap @{SERVICE_IPS}",
            f"fib daddr type local meta l4proto . th dport vmap @{SERVICE_NODEPORTS}",
        ),
        MASQUERADING: (
            f"ct status dnat ip saddr . ip daddr @{HAIRPIN} jump {MARK_MASQ}",
            f"meta mark & {mark} == 0 return",
            f"meta mark set meta mark ^ {mark}",
            "masquerade fully-random",
        ),
        MARK_MASQ: (f"meta mark set meta mark | {mark}",),
        SERVICE_ENDPOINTS_CHECK: (
            f"ip daddr . meta l4proto . th dport vmap @{NO_ENDPOINT_SERVICES}",
        ),
        NODEPORT_ENDPOINTS_CHECK: (
            f"fib daddr type local meta l4proto . th dport vmap @{NO_ENDPOINT_NODEPORTS}",
        ),
        REJECT: ("reject",),
        CANARY: (CANARY_RULE,),
    }


class NftBuilder:
    """Builds :class:`NftRuleset` s, reusing each unchanged service port's objects.

    The memo is keyed by identity: :class:`~node.proxy.model.ModelCache` hands out the
    same :class:`ServicePort` objects while their Service and Endpoints are unchanged,
    and hashing 5,000 of them (each with its endpoints) would cost more than the rest
    of a build.
    """

    def __init__(self, config: RulesConfig) -> None:
        self.config = config
        self._memo: dict[int, tuple[ServicePort, PortObjects]] = {}

    def build(self, ports: Iterable[ServicePort]) -> NftRuleset:
        memo: dict[int, tuple[ServicePort, PortObjects]] = {}
        out = NftRuleset(chains=fixed_chains(self.config))
        for sp in ports:
            entry = self._memo.get(id(sp))
            if entry is None or entry[0] is not sp:
                entry = (sp, port_objects(sp, self.config))
            memo[id(sp)] = entry
            objects = entry[1]
            out.chains.update(objects.chains)
            out.sets.update(objects.sets)
            for name, key, value in objects.elements:
                out.elements[name][key] = value
        self._memo = memo
        return out


def build_ruleset(ports: Iterable[ServicePort], config: RulesConfig) -> NftRuleset:
    return NftBuilder(config).build(ports)


# --- from one state to another --------------------------------------------------------


@dataclass(frozen=True)
class Existing:
    """The chains and sets of the proxy's table found in the kernel."""

    chains: frozenset[str] = frozenset()
    sets: frozenset[str] = frozenset()


@dataclass
class Plan:
    full: bool
    write: list[str]  # chains to (re)fill, in the desired order
    flush: set[str]  # of those, the ones that exist and so need emptying first
    delete_chains: list[str]
    add_sets: list[str]
    delete_sets: list[str]
    delete_elements: dict[str, list[str]]
    add_elements: dict[str, list[tuple[str, str]]]

    def is_empty(self) -> bool:
        return not (
            self.full
            or self.write
            or self.delete_chains
            or self.add_sets
            or self.delete_sets
            or any(self.delete_elements.values())
            or any(self.add_elements.values())
        )


def plan(desired: NftRuleset, applied: NftRuleset | None, existing: Existing | None) -> Plan:
    """Full (``applied`` None: everything, stale = ``existing`` minus desired) or partial
    (only what differs from ``applied``, the state last written)."""
    if applied is None:
        found = existing or Existing()
        return Plan(
            full=True,
            write=list(desired.chains),
            flush=set(found.chains) & set(desired.chains),
            delete_chains=sorted(found.chains - set(desired.chains)),
            add_sets=sorted(desired.sets),
            delete_sets=sorted(found.sets - set(desired.sets) - set(COLLECTIONS)),
            delete_elements={m: [] for m in COLLECTIONS},
            add_elements={m: list(desired.elements[m].items()) for m in COLLECTIONS},
        )
    have = applied.chains
    write = [name for name, rules in desired.chains.items() if have.get(name) != rules]
    delete_elements: dict[str, list[str]] = {}
    add_elements: dict[str, list[tuple[str, str]]] = {}
    for m in COLLECTIONS:
        old, new = applied.elements[m], desired.elements[m]
        delete_elements[m] = [k for k, v in old.items() if new.get(k) != v]
        add_elements[m] = [(k, v) for k, v in new.items() if old.get(k) != v]
    return Plan(
        full=False,
        write=write,
        flush={name for name in write if name in have},
        delete_chains=sorted(set(have) - set(desired.chains)),
        add_sets=sorted(set(desired.sets) - set(applied.sets)),
        delete_sets=sorted(set(applied.sets) - set(desired.sets)),
        delete_elements=delete_elements,
        add_elements=add_elements,
    )


def render(desired: NftRuleset, p: Plan) -> str:
    """The ``nft -f`` input carrying out ``p`` as one transaction ("" if nothing to do)."""
    if p.is_empty():
        return ""
    t = QUALIFIED
    out: list[str] = []
    if p.full:
        out.append(f"add table {t}")
    for name in p.write:
        spec = BASE_CHAINS.get(name)
        out.append(f"add chain {t} {name}" + (f" {{ {spec} }}" if spec else ""))
    if p.full:
        out.extend(f"add {kind} {t} {m} {{ {decl} }}" for m, (kind, decl) in COLLECTIONS.items())
    out.extend(f"add set {t} {s} {{ {desired.sets[s]} }}" for s in p.add_sets)
    out.extend(f"flush chain {t} {name}" for name in p.write if name in p.flush)
    if p.full:
        out.extend(f"flush {kind} {t} {m}" for m, (kind, _) in COLLECTIONS.items())
    for m, keys in p.delete_elements.items():
        if keys:
            out.append(f"delete element {t} {m} {{ {', '.join(keys)} }}")
    for name in p.write:
        out.extend(f"add rule {t} {name} {rule}" for rule in desired.chains[name])
    for m, items in p.add_elements.items():
        if items:
            listed = ", ".join(f"{k} : {v}" if v else k for k, v in items)
            out.append(f"add element {t} {m} {{ {listed} }}")
    out.extend(f"flush chain {t} {name}" for name in p.delete_chains)
    out.extend(f"delete chain {t} {name}" for name in p.delete_chains)
    out.extend(f"delete set {t} {s}" for s in p.delete_sets)
    return "\n".join(out) + "\n"
