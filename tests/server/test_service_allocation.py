"""Service cluster IPs and node ports against a real API server process: allocation,
requested values, conflicts (the exact 422 Status), immutability, type changes,
release on delete, restarts, headless, dry-run, concurrency and real kubectl."""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.apiserver import ApiServerProcess, start_apiserver

SERVICES = "/api/v1/namespaces/default/services"
MERGE = {"content-type": "application/merge-patch+json"}
CIDR = ipaddress.ip_network("10.96.0.0/12")


@pytest.fixture(scope="module")
def api(apiserver: ApiServerProcess) -> Iterator[httpx.Client]:
    with apiserver.client() as client:
        yield client


def manifest(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"port": 80, "targetPort": 8080}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def create(api: httpx.Client, name: str, **spec: Any) -> dict[str, Any]:
    r = api.post(SERVICES, json=manifest(name, **spec))
    assert r.status_code == 201, r.text
    return dict(r.json())


def rejected(r: httpx.Response, name: str, field: str, message: str) -> None:
    """The 422 Status kube-apiserver sends, with its one cause."""
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["reason"] == "Invalid" and status["code"] == 422
    assert status["message"] == f'Service "{name}" is invalid: {field}: {message}'
    assert status["details"]["kind"] == "Service" and status["details"]["name"] == name
    assert status["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": message, "field": field}
    ]


def node_ports(svc: dict[str, Any]) -> list[int | None]:
    return [p.get("nodePort") for p in svc["spec"]["ports"]]


# ---------------------------------------------------------------- allocation


def test_cluster_ip_is_allocated_with_families(api: httpx.Client) -> None:
    spec = create(api, "alloc")["spec"]
    ip = ipaddress.ip_address(spec["clusterIP"])
    assert ip in CIDR and spec["clusterIPs"] == [spec["clusterIP"]]
    assert ip not in (CIDR.network_address, CIDR.broadcast_address)
    assert str(ip) not in ("10.96.0.1", "10.96.0.10")  # reserved: kubernetes, kube-dns
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert "nodePort" not in spec["ports"][0]
    stored = api.get(f"{SERVICES}/alloc").json()["spec"]
    assert stored["clusterIP"] == spec["clusterIP"]


def test_requested_cluster_ip_and_its_conflicts(api: httpx.Client) -> None:
    assert create(api, "fixed", clusterIP="10.96.0.10")["spec"]["clusterIPs"] == ["10.96.0.10"]
    r = api.post(SERVICES, json=manifest("fixed-again", clusterIP="10.96.0.10"))
    rejected(
        r,
        "fixed-again",
        "spec.clusterIPs",
        'Invalid value: ["10.96.0.10"]: failed to allocate IP 10.96.0.10: '
        "provided IP is already allocated",
    )
    for outside in ("10.0.0.5", "10.96.0.0", "10.111.255.255"):  # outside, network, broadcast
        r = api.post(SERVICES, json=manifest("outside", clusterIP=outside))
        rejected(
            r,
            "outside",
            "spec.clusterIPs",
            f'Invalid value: ["{outside}"]: failed to allocate IP {outside}: the provided IP '
            f"({outside}) is not in the valid range. The range of valid IPs is 10.96.0.0/12",
        )
    assert api.get(f"{SERVICES}/outside").status_code == 404


def test_node_ports_allocated_requested_and_conflicting(api: httpx.Client) -> None:
    svc = create(
        api,
        "np",
        type="NodePort",
        ports=[
            {"name": "dns", "port": 53, "protocol": "TCP"},
            {"name": "dns-udp", "port": 53, "protocol": "UDP"},
            {"name": "web", "port": 80, "nodePort": 30080},
        ],
    )
    dns, dns_udp, web = node_ports(svc)
    assert dns is not None and 30000 <= dns <= 32767
    assert dns_udp == dns  # one service port number, two protocols: one node port
    assert web == 30080
    assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in CIDR
    r = api.post(SERVICES, json=manifest("np2", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    rejected(r, "np2", "spec.ports[0].nodePort", "Invalid value: 30080: provided port is already allocated")
    r = api.post(SERVICES, json=manifest("np3", type="NodePort", ports=[{"port": 80, "nodePort": 8080}]))
    rejected(
        r,
        "np3",
        "spec.ports[0].nodePort",
        "Invalid value: 8080: provided port is not in the valid range. "
        "The range of valid ports is 30000-32767",
    )
    # the address np3's create would have used is not held: a rejected create leaves nothing
    ports = [{"name": "a", "port": 80, "nodePort": 30081}, {"name": "b", "port": 81, "nodePort": 30081}]
    r = api.post(SERVICES, json=manifest("np4", type="NodePort", ports=ports))
    assert r.status_code == 422 and r.json()["details"]["causes"] == [
        {"reason": "FieldValueDuplicate", "message": "Duplicate value: 30081", "field": "spec.ports[1].nodePort"}
    ]
    ports[1]["protocol"] = "UDP"
    assert node_ports(create(api, "np4", type="NodePort", ports=ports)) == [30081, 30081]


def test_load_balancer_gets_node_ports_and_health_check_port(api: httpx.Client) -> None:
    spec = create(api, "lb", type="LoadBalancer", externalTrafficPolicy="Local")["spec"]
    assert 30000 <= spec["ports"][0]["nodePort"] <= 32767
    assert 30000 <= spec["healthCheckNodePort"] <= 32767
    assert spec["healthCheckNodePort"] != spec["ports"][0]["nodePort"]
    spec = create(api, "lb-none", type="LoadBalancer", allocateLoadBalancerNodePorts=False)["spec"]
    assert "nodePort" not in spec["ports"][0]


def test_headless_gets_nothing(api: httpx.Client) -> None:
    spec = create(api, "headless", clusterIP="None", selector={"app": "x"})["spec"]
    assert spec["clusterIP"] == "None" and spec["clusterIPs"] == ["None"]
    assert "nodePort" not in spec["ports"][0]
    assert create(api, "headless2", clusterIP="None")["spec"]["clusterIPs"] == ["None"]


# ---------------------------------------------------------------- updates


def test_cluster_ip_is_immutable_and_kept_when_omitted(api: httpx.Client) -> None:
    svc = create(api, "immut")
    ip = svc["spec"]["clusterIP"]
    r = api.patch(f"{SERVICES}/immut", json={"spec": {"clusterIP": "10.96.200.200"}}, headers=MERGE)
    assert r.status_code == 422, r.text
    assert [c["field"] for c in r.json()["details"]["causes"]] == ["spec.clusterIPs[0]"]
    assert "may not change once set" in r.json()["message"]
    # a PUT of the original manifest (no clusterIP, no resourceVersion) keeps the address
    body = manifest("immut", ports=[{"port": 81}])
    r = api.put(f"{SERVICES}/immut", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["spec"]["clusterIP"] == ip and r.json()["spec"]["clusterIPs"] == [ip]


def test_type_changes_allocate_and_release(api: httpx.Client) -> None:
    svc = create(api, "morph")
    ip = svc["spec"]["clusterIP"]
    r = api.patch(f"{SERVICES}/morph", json={"spec": {"type": "NodePort"}}, headers=MERGE)
    assert r.status_code == 200, r.text
    (port,) = node_ports(r.json())
    assert port is not None and 30000 <= port <= 32767
    assert r.json()["spec"]["clusterIP"] == ip
    # re-applying without the node port keeps it
    r = api.put(f"{SERVICES}/morph", json=manifest("morph", type="NodePort"))
    assert node_ports(r.json()) == [port]
    # NodePort -> ClusterIP releases the port
    r = api.patch(f"{SERVICES}/morph", json={"spec": {"type": "ClusterIP"}}, headers=MERGE)
    assert r.status_code == 200, r.text
    assert node_ports(r.json()) == [None] and "externalTrafficPolicy" not in r.json()["spec"]
    assert node_ports(create(api, "takes-port", type="NodePort", ports=[{"port": 1, "nodePort": port}])) == [port]
    # ClusterIP -> ExternalName releases the address
    patch = {"spec": {"type": "ExternalName", "externalName": "db.example.com"}}
    r = api.patch(f"{SERVICES}/morph", json=patch, headers=MERGE)
    assert r.status_code == 200, r.text
    assert "clusterIP" not in r.json()["spec"] and "clusterIPs" not in r.json()["spec"]
    assert create(api, "takes-ip", clusterIP=ip)["spec"]["clusterIP"] == ip
    # ExternalName -> ClusterIP allocates a new address
    r = api.patch(f"{SERVICES}/morph", json={"spec": {"type": "ClusterIP", "externalName": None}}, headers=MERGE)
    assert r.status_code == 200, r.text
    assert r.json()["spec"]["clusterIP"] not in (ip, None)


def test_changing_a_node_port_takes_the_new_and_frees_the_old(api: httpx.Client) -> None:
    create(api, "mover", type="NodePort", ports=[{"port": 80, "nodePort": 30200}])
    body = api.get(f"{SERVICES}/mover").json()
    body["spec"]["ports"][0]["nodePort"] = 30201
    r = api.put(f"{SERVICES}/mover", json=body)
    assert r.status_code == 200 and node_ports(r.json()) == [30201], r.text
    create(api, "mover2", type="NodePort", ports=[{"port": 80, "nodePort": 30200}])
    body = api.get(f"{SERVICES}/mover2").json()
    body["spec"]["ports"][0]["nodePort"] = 30201
    r = api.put(f"{SERVICES}/mover2", json=body)
    rejected(r, "mover2", "spec.ports[0].nodePort", "Invalid value: 30201: provided port is already allocated")


# ---------------------------------------------------------------- release and dry-run


def test_delete_releases_for_reuse(api: httpx.Client) -> None:
    create(api, "gone", type="NodePort", clusterIP="10.96.0.77", ports=[{"port": 80, "nodePort": 30777}])
    assert api.delete(f"{SERVICES}/gone").status_code == 200
    again = create(api, "back", type="NodePort", clusterIP="10.96.0.77", ports=[{"port": 80, "nodePort": 30777}])
    assert again["spec"]["clusterIP"] == "10.96.0.77" and node_ports(again) == [30777]


def test_finalizers_hold_the_allocation_until_removal(api: httpx.Client) -> None:
    body = manifest("held", clusterIP="10.96.0.88")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    assert api.post(SERVICES, json=body).status_code == 201
    assert api.delete(f"{SERVICES}/held").status_code == 200
    r = api.post(SERVICES, json=manifest("held2", clusterIP="10.96.0.88"))
    assert r.status_code == 422  # still held while the finalizer is there
    r = api.patch(f"{SERVICES}/held", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert r.status_code == 200, r.text
    assert api.get(f"{SERVICES}/held").status_code == 404
    assert create(api, "held2", clusterIP="10.96.0.88")["spec"]["clusterIP"] == "10.96.0.88"


def test_dry_run_allocates_nothing(api: httpx.Client) -> None:
    r = api.post(SERVICES, params={"dryRun": "All"}, json=manifest("dry", type="NodePort"))
    assert r.status_code == 201, r.text
    ip, (port,) = r.json()["spec"]["clusterIP"], node_ports(r.json())
    assert ipaddress.ip_address(ip) in CIDR and port is not None
    assert api.get(f"{SERVICES}/dry").status_code == 404
    taken = create(api, "not-dry", type="NodePort", clusterIP=ip, ports=[{"port": 80, "nodePort": port}])
    assert taken["spec"]["clusterIP"] == ip
    r = api.post(SERVICES, params={"dryRun": "All"}, json=manifest("dry", clusterIP=ip))
    assert r.status_code == 422  # a dry run still checks


def test_concurrent_creates_never_share(api: httpx.Client) -> None:
    def one(i: int) -> dict[str, Any]:
        return create(api, f"burst-{i}", type="NodePort")

    with ThreadPoolExecutor(16) as pool:
        made = list(pool.map(one, range(40)))
    assert len({m["spec"]["clusterIP"] for m in made}) == 40
    assert len({node_ports(m)[0] for m in made}) == 40


def test_allocation_records_are_not_served(api: httpx.Client) -> None:
    create(api, "recorded", type="NodePort")
    for path in ("/apis/kctl.io/v1/serviceipallocations", "/apis/kctl.io/v1/servicenodeportallocations"):
        assert api.get(path).status_code == 404
    groups = api.get("/apis").json()["groups"]
    assert "kctl.io" not in {g["name"] for g in groups}
    resources = api.get("/api/v1").json()["resources"]
    assert not [r for r in resources if "allocation" in r["name"]]


# ---------------------------------------------------------------- restart and settings


def test_restart_keeps_allocations(tmp_path: Path) -> None:
    data = tmp_path / "restart"
    args = ["--service-cidr", "10.100.0.0/28", "--cluster-dns", "10.100.0.10"]
    server = start_apiserver(data, extra=args)
    try:
        with server.client() as api:
            first = [create(api, f"s{i}")["spec"]["clusterIP"] for i in range(6)]
    finally:
        server.stop()
    server = start_apiserver(data, extra=args)
    try:
        with server.client() as api:
            r = api.post(SERVICES, json=manifest("dup", clusterIP=first[0]))
            assert r.status_code == 422 and "already allocated" in r.json()["message"]
            # 14 usable, .1 and .10 reserved: 6 were used, 6 remain
            second = [create(api, f"t{i}")["spec"]["clusterIP"] for i in range(6)]
            assert not set(first) & set(second) and len(set(second)) == 6
            assert not {"10.100.0.1", "10.100.0.10"} & set(first + second)
            r = api.post(SERVICES, json=manifest("full"))
            assert r.status_code == 500
            assert "failed to allocate a serviceIP: range is full" in r.json()["message"]
            assert create(api, "dns", clusterIP="10.100.0.10")["spec"]["clusterIP"] == "10.100.0.10"
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


# ---------------------------------------------------------------- kubectl


@pytest.mark.kubectl
def test_kubectl_service_flows(apiserver: ApiServerProcess, tmp_path: Path) -> None:
    def kubectl(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"KUBECONFIG": str(apiserver.kubeconfig), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin:/usr/local/bin"}
        result = subprocess.run(
            ["kubectl", *args], input=input, capture_output=True, text=True, env=env, timeout=60
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def create_service(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # kubectl's imperative create sends protobuf, which kctl does not speak: the
        # generated manifest goes through "create -f" (JSON) instead
        generated = kubectl("create", "service", *args, "--dry-run=client", "-o", "yaml").stdout
        return kubectl("create", "-f", "-", input=generated, check=check)

    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed on this machine")
    create_service("clusterip", "kc-ip", "--tcp=80:8080")
    create_service("nodeport", "kc-np", "--tcp=80:8080", "--node-port=30042")
    ip_svc = json.loads(kubectl("get", "svc", "kc-ip", "-o", "json").stdout)
    assert ipaddress.ip_address(ip_svc["spec"]["clusterIP"]) in CIDR
    table = kubectl("get", "svc", "kc-np").stdout.splitlines()
    assert table[1].split()[:2] == ["kc-np", "NodePort"] and "80:30042/TCP" in table[1]
    dup = create_service("nodeport", "kc-np2", "--tcp=80", "--node-port=30042", check=False)
    assert dup.returncode != 0
    assert (
        'The Service "kc-np2" is invalid: spec.ports[0].nodePort: Invalid value: 30042: '
        "provided port is already allocated" in dup.stderr
    )
    # an expose-like manifest applied twice keeps its address and node port
    path = tmp_path / "svc.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: kc-web}\n"
        "spec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n"
    )
    kubectl("apply", "-f", str(path))
    before = json.loads(kubectl("get", "svc", "kc-web", "-o", "json").stdout)["spec"]
    assert "unchanged" in kubectl("apply", "-f", str(path)).stdout
    kubectl("apply", "--server-side", "-f", str(path))
    after = json.loads(kubectl("get", "svc", "kc-web", "-o", "json").stdout)["spec"]
    assert after["clusterIP"] == before["clusterIP"]
    assert after["ports"][0]["nodePort"] == before["ports"][0]["nodePort"]
    kubectl("delete", "svc", "kc-np")
    create_service("nodeport", "kc-np2", "--tcp=80", "--node-port=30042")


@pytest.mark.postgres
def test_two_api_servers_see_each_others_allocations(tmp_path: Path, postgres_url: str) -> None:
    first = start_apiserver(tmp_path / "a", extra=["--store", postgres_url])
    second = start_apiserver(tmp_path / "b", extra=["--store", postgres_url])
    try:
        with first.client() as a, second.client() as b:
            create(a, "pg", type="NodePort", clusterIP="10.96.0.99", ports=[{"port": 80, "nodePort": 30099}])
            r = b.post(SERVICES, json=manifest("pg2", clusterIP="10.96.0.99"))
            assert r.status_code == 422 and "already allocated" in r.json()["message"]
            r = b.post(SERVICES, json=manifest("pg2", type="NodePort", ports=[{"port": 80, "nodePort": 30099}]))
            assert r.status_code == 422 and "already allocated" in r.json()["message"]
            assert b.delete(f"{SERVICES}/pg").status_code == 200
            assert create(a, "pg2", clusterIP="10.96.0.99")["spec"]["clusterIP"] == "10.96.0.99"
            # creates alternating between the servers never reuse a number
            made = [create(a if i % 2 else b, f"alt-{i}", type="NodePort") for i in range(20)]
            assert len({m["spec"]["clusterIP"] for m in made} | {"10.96.0.99"}) == 21
            assert len({node_ports(m)[0] for m in made}) == 20
    finally:
        first.stop()
        second.stop()


@pytest.mark.postgres
def test_two_api_servers_racing_never_share_a_number(tmp_path: Path, postgres_url: str) -> None:
    """Concurrent creates against both servers at once, on ranges small enough that
    they must collide: the database's records decide, nobody gets a duplicate, and
    failed claims leave nothing behind (the ranges can be filled exactly afterwards)."""
    args = [
        "--store", postgres_url,
        "--service-cidr", "10.100.0.0/28",  # 14 usable, .1 and .10 reserved: 12 dynamic
        "--cluster-dns", "10.100.0.10",
        "--service-node-port-range", "30000-30013",  # 14 node ports
    ]
    first = start_apiserver(tmp_path / "a", extra=args)
    second = start_apiserver(tmp_path / "b", extra=args)
    try:
        with first.client() as a, second.client() as b:

            def one(i: int) -> httpx.Response:
                api = a if i % 2 else b
                return api.post(SERVICES, json=manifest(f"race-{i}", type="NodePort"))

            with ThreadPoolExecutor(32) as pool:
                answers = list(pool.map(one, range(32)))
            made = [r.json() for r in answers if r.status_code == 201]
            for r in answers:
                assert r.status_code in (201, 500), r.text
                if r.status_code == 500:
                    assert "range is full" in r.json()["message"], r.text
            assert 0 < len(made) <= 12
            listed = a.get(SERVICES).json()["items"]
            mine = [s for s in listed if s["metadata"]["name"].startswith("race-")]
            assert len(mine) == len(made)
            ips = [s["spec"]["clusterIP"] for s in mine]
            ports = [node_ports(s)[0] for s in mine]
            assert len(set(ips)) == len(ips) and len(set(ports)) == len(ports)
            # nothing leaked: both servers fill the address range exactly
            more = 0
            for i in range(20):
                r = (a if i % 2 else b).post(SERVICES, json=manifest(f"fill-{i}", type="NodePort"))
                if r.status_code != 201:
                    assert r.status_code == 500 and "range is full" in r.json()["message"], r.text
                    break
                more += 1
            assert len(made) + more == 12
            everything = b.get(SERVICES).json()["items"]
            ips = [s["spec"]["clusterIP"] for s in everything if s["spec"].get("type") == "NodePort"]
            assert len(ips) == 12 and len(set(ips)) == 12
            # delete on one server, the number is free on the other at once
            victim = mine[0]
            name, ip, port = victim["metadata"]["name"], victim["spec"]["clusterIP"], node_ports(victim)[0]
            assert a.delete(f"{SERVICES}/{name}").status_code == 200
            back = create(b, "reborn", type="NodePort", clusterIP=ip, ports=[{"port": 80, "nodePort": port}])
            assert back["spec"]["clusterIP"] == ip and node_ports(back) == [port]
    finally:
        first.stop()
        second.stop()
