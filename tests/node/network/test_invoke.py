"""The CNI invoker against fake plugins: chaining, DEL order, runtimeConfig, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from node.network.invoke import CniError, CniInvoker, CniRuntime, pod_ip

FAKE = """#!{python}
import json, os, sys
conf = json.load(sys.stdin)
with open({log!r}, "a") as f:
    f.write(json.dumps({{"cmd": os.environ["CNI_COMMAND"], "type": conf["type"], "conf": conf,
                        "args": os.environ["CNI_ARGS"], "ifname": os.environ["CNI_IFNAME"]}}) + "\\n")
if conf.get("fail") == os.environ["CNI_COMMAND"]:
    print(json.dumps({{"cniVersion": "1.0.0", "code": 11, "msg": "boom", "details": conf["type"]}}))
    sys.exit(1)
if os.environ["CNI_COMMAND"] == "ADD":
    prev = conf.get("prevResult") or {{"cniVersion": "1.0.0", "ips": []}}
    if conf.get("addIP"):
        prev = dict(prev, ips=prev["ips"] + [{{"address": conf["addIP"]}}])
    print(json.dumps(prev))
"""


@pytest.fixture
def plugins(tmp_path: Path) -> tuple[CniInvoker, Path]:
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    for name in ("one", "two", "three"):
        path = bin_dir / name
        path.write_text(FAKE.format(python=sys.executable, log=str(log)))
        path.chmod(0o755)
    return CniInvoker((tmp_path / "nothing-here", bin_dir), tmp_path / "cache"), log


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


CONFLIST = {
    "cniVersion": "1.0.0",
    "name": "kctl-test",
    "plugins": [
        {"type": "one", "addIP": "10.250.0.2/24"},
        {"type": "two", "capabilities": {"portMappings": True, "bandwidth": True}},
        {"type": "three"},
    ],
}


def test_add_chains_results_and_del_runs_in_reverse(plugins: tuple[CniInvoker, Path]) -> None:
    invoker, log = plugins
    rt = CniRuntime(
        "c1",
        "/var/run/netns/x",
        args={"K8S_POD_NAME": "p"},
        capability_args={"portMappings": [{"hostPort": 8080}]},
    )
    result = invoker.add(CONFLIST, rt)
    assert pod_ip(result) == "10.250.0.2"
    adds = calls(log)
    assert [c["type"] for c in adds] == ["one", "two", "three"]
    assert "prevResult" not in adds[0]["conf"]
    assert adds[1]["conf"]["prevResult"]["ips"] == [{"address": "10.250.0.2/24"}]
    assert adds[1]["conf"]["runtimeConfig"] == {"portMappings": [{"hostPort": 8080}]}
    assert "runtimeConfig" not in adds[2]["conf"]
    assert all(
        c["conf"]["name"] == "kctl-test" and c["conf"]["cniVersion"] == "1.0.0" for c in adds
    )
    assert adds[0]["args"] == "IgnoreUnknown=1;K8S_POD_NAME=p"
    assert invoker.cached_result(CONFLIST, rt) == result

    log.unlink()
    invoker.delete(CONFLIST, rt)
    dels = calls(log)
    assert [c["type"] for c in dels] == ["three", "two", "one"]
    assert all(c["conf"]["prevResult"] == result for c in dels)
    assert invoker.cached_result(CONFLIST, rt) is None
    assert list((invoker.cache_dir).iterdir()) == []


def test_failing_plugin_raises_its_error_and_del_still_runs_the_others(
    plugins: tuple[CniInvoker, Path],
) -> None:
    invoker, log = plugins
    conf = dict(
        CONFLIST,
        plugins=[{"type": "one", "fail": "DEL"}, {"type": "two"}, {"type": "three", "fail": "ADD"}],
    )
    rt = CniRuntime("c2", "/var/run/netns/x")
    with pytest.raises(CniError) as err:
        invoker.add(conf, rt)
    assert (err.value.code, err.value.msg, err.value.details, err.value.plugin) == (
        11,
        "boom",
        "three",
        "three",
    )
    log.unlink()
    with pytest.raises(CniError, match="CNI DEL one: boom"):
        invoker.delete(conf, rt)
    assert [c["type"] for c in calls(log)] == ["three", "two", "one"]


def test_missing_plugin(plugins: tuple[CniInvoker, Path]) -> None:
    invoker, _ = plugins
    with pytest.raises(CniError, match="failed to find plugin 'nope'"):
        invoker.add(dict(CONFLIST, plugins=[{"type": "nope"}]), CniRuntime("c3", "/x"))
