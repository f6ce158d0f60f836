"""``kctl events`` side by side with ``kubectl events`` (events created through the API)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kctl.cli.verbs.events import last_seen
from tests.fixtures.apiserver import ApiServerProcess

pytestmark = pytest.mark.kubectl

_AGE = re.compile(r"(?<![\w./-])\d+[smhdy](\d+[smhd])?(?![\w./-]) *")


def mask(text: str) -> str:
    """Ages masked and runs of spaces collapsed (an age one second apart can be a
    different width, shifting the columns after it)."""
    return re.sub(" +", " ", _AGE.sub("<age> ", text))


def _ts(delta: timedelta, micro: bool = False) -> str:
    when = datetime.now(UTC) - delta
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def manifest() -> str:
    old, older, recent = (
        _ts(timedelta(minutes=5)),
        _ts(timedelta(hours=2)),
        _ts(timedelta(seconds=30)),
    )
    return f"""\
apiVersion: v1
kind: Namespace
metadata: {{name: kube-system}}
---
apiVersion: v1
kind: Event
metadata: {{name: web.1}}
involvedObject: {{kind: Deployment, name: web, namespace: default, apiVersion: apps/v1}}
reason: ScalingReplicaSet
message: "Scaled up replica set web-abc to 2"
type: Normal
source: {{component: deployment-controller}}
firstTimestamp: "{old}"
lastTimestamp: "{old}"
count: 1
---
apiVersion: v1
kind: Event
metadata: {{name: pod-a.1}}
involvedObject: {{kind: Pod, name: pod-a, namespace: default, apiVersion: v1}}
reason: FailedScheduling
message: "  0/0 nodes are available: no nodes.  "
type: Warning
source: {{component: default-scheduler}}
firstTimestamp: "{older}"
lastTimestamp: "{recent}"
count: 7
---
apiVersion: v1
kind: Event
metadata: {{name: pod-a.2}}
involvedObject: {{kind: Pod, name: pod-a, namespace: default, apiVersion: v1}}
reason: Pulled
message: "Image pulled"
type: Normal
eventTime: "{_ts(timedelta(minutes=3), micro=True)}"
reportingComponent: kubelet
reportingInstance: node-1
action: Pulling
series: {{count: 3, lastObservedTime: "{_ts(timedelta(minutes=1), micro=True)}"}}
---
apiVersion: v1
kind: Event
metadata: {{name: dns.1, namespace: kube-system}}
involvedObject: {{kind: Service, name: dns, namespace: kube-system, apiVersion: v1}}
reason: Created
message: created
type: Normal
source: {{component: x}}
firstTimestamp: "{old}"
lastTimestamp: "{old}"
"""


@pytest.fixture(scope="module")
def events(kubectl, tmp_path_factory: pytest.TempPathFactory) -> None:
    path: Path = tmp_path_factory.mktemp("events") / "events.yaml"
    path.write_text(manifest())
    kubectl("apply", "-f", str(path))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-A"],
        ["--for", "pod/pod-a"],
        ["--for=deployment.apps/web"],
        ["--for=svc/dns", "-n", "kube-system"],
        ["--types=Warning"],
        ["--types=warning,Normal", "--no-headers"],
        ["-A", "--types", "Normal"],
        ["-n", "nope"],
        ["-n", "nope", "-A"],
        ["--types=bad"],
        ["--for=pod"],
        ["-o", "wide"],
        ["-o", "yaml"],
        ["-o", "name"],
        ["-o", "jsonpath={.items[*].reason}"],
    ],
    ids=lambda a: " ".join(a) or "(none)",
)
def test_agrees_with_kubectl(kctl, kubectl, events, args: list[str]) -> None:
    with ThreadPoolExecutor(2) as pool:
        theirs_f = pool.submit(kubectl, "events", *args, check=False)
        ours_f = pool.submit(kctl, "events", *args, check=False)
        theirs, ours = theirs_f.result(), ours_f.result()
    assert (ours.returncode, mask(ours.stdout), ours.stderr) == (
        theirs.returncode,
        mask(theirs.stdout),
        theirs.stderr,
    )


def test_columns_and_order(kctl, events) -> None:
    lines = kctl("events").stdout.splitlines()
    assert re.split(r"\s{3,}", lines[0]) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    reasons = [re.split(r"\s{3,}", line)[2] for line in lines[1:]]
    assert reasons == ["ScalingReplicaSet", "Pulled", "FailedScheduling"]  # oldest first
    assert re.match(r"\d+s \(x3 over 3m(\d+s)?\) ", lines[2]) and "Pod/pod-a" in lines[2]
    start = lines[0].index("TYPE")
    assert all(line[start - 3 : start] == "   " and line[start] != " " for line in lines)
    assert lines[3].endswith("0/0 nodes are available: no nodes.")  # trimmed


def test_last_seen_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert last_seen({"firstTimestamp": "2026-01-01T11:55:00Z", "count": 1}, now) == "5m"
    repeated = {
        "firstTimestamp": "2026-01-01T10:00:00Z",
        "lastTimestamp": "2026-01-01T11:59:30Z",
        "count": 7,
    }
    assert last_seen(repeated, now) == "30s (x7 over 120m)"
    assert last_seen({}, now) == "<unknown>"


def test_watch_agrees(apiserver: ApiServerProcess, kubectl, events, tmp_path: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig), "HOME": str(tmp_path)}
    cmds = {
        "kubectl": ["kubectl", "events", "-w"],
        "kctl": [sys.executable, "-m", "kctl.cli.main", "events", "-w"],
    }
    procs = {
        k: subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for k, c in cmds.items()
    }
    try:
        time.sleep(4)
        new = tmp_path / "new.yaml"
        new.write_text(
            "apiVersion: v1\nkind: Event\nmetadata: {name: late.1}\n"
            "involvedObject: {kind: Pod, name: late, namespace: default}\n"
            "reason: Started\nmessage: started\ntype: Normal\nsource: {component: kubelet}\n"
            f'firstTimestamp: "{_ts(timedelta(seconds=2))}"\nlastTimestamp: "{_ts(timedelta(seconds=2))}"\n'
        )
        kubectl("apply", "-f", str(new))
        time.sleep(2)
    finally:
        for proc in procs.values():
            proc.terminate()
    outputs = {k: p.communicate(timeout=10)[0] for k, p in procs.items()}
    # the replayed events come in the server's order; compare as sets of lines
    assert sorted(mask(outputs["kctl"]).splitlines()) == sorted(
        mask(outputs["kubectl"]).splitlines()
    )
    assert "Pod/late" in outputs["kctl"]
