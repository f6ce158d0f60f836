"""Real kubectl (the machine's, 1.32 through its dispatcher) against a fresh kctl API server.

Each test drives kubectl exactly as a user would, with default validation (no
``--validate=false``), and checks both what kubectl prints and what the server stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.fixtures.apiserver import ApiServerProcess

pytestmark = pytest.mark.kubectl

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}, tier: web}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: web
        image: kctl.local/busybox:1.35
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "httpd -f -p 8080"]
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  selector: {{app: {name}}}
  ports:
  - port: 80
    targetPort: 8080
"""


def write(tmp_path: Path, name: str, replicas: int = 2) -> Path:
    path = tmp_path / f"{name}-{replicas}.yaml"
    path.write_text(MANIFEST.format(name=name, replicas=replicas))
    return path


def get_json(kubectl, *args: str) -> dict:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def test_apply_create_then_patch_path(kubectl, tmp_path: Path) -> None:
    out = kubectl("apply", "-f", str(write(tmp_path, "web"))).stdout
    assert "deployment.apps/web created" in out
    assert "service/web created" in out
    again = kubectl("apply", "-f", str(write(tmp_path, "web"))).stdout
    assert "deployment.apps/web unchanged" in again
    assert "service/web unchanged" in again
    rv_before = get_json(kubectl, "deploy", "web")["metadata"]["resourceVersion"]
    changed = kubectl("apply", "-f", str(write(tmp_path, "web", replicas=3))).stdout
    assert "deployment.apps/web configured" in changed
    dep = get_json(kubectl, "deploy", "web")
    assert dep["spec"]["replicas"] == 3
    assert dep["metadata"]["resourceVersion"] != rv_before
    assert dep["metadata"]["generation"] == 2
    last = json.loads(
        dep["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert last["spec"]["replicas"] == 3


def test_get_in_every_format(kubectl, tmp_path: Path) -> None:
    kubectl("apply", "-f", str(write(tmp_path, "fmt")))
    table = kubectl("get", "deploy", "fmt").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["fmt", "0/2", "0", "0"]
    wide = kubectl("get", "deploy", "fmt", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert "kctl.local/busybox:1.35" in wide[1] and "app=fmt" in wide[1]
    svc = kubectl("get", "svc", "fmt").stdout.splitlines()
    assert svc[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert "80/TCP" in svc[1]
    as_yaml = kubectl("get", "svc", "fmt", "-o", "yaml").stdout
    assert "kind: Service" in as_yaml and "targetPort: 8080" in as_yaml
    assert get_json(kubectl, "deploy", "fmt")["kind"] == "Deployment"
    names = kubectl("get", "deploy,svc", "-l", "app=fmt", "-o", "name").stdout.split()
    assert names == ["deployment.apps/fmt", "service/fmt"]
    everywhere = kubectl("get", "deploy", "-A").stdout.splitlines()
    assert everywhere[0].split()[0] == "NAMESPACE"
    assert any(line.split()[:2] == ["default", "fmt"] for line in everywhere[1:])
    everything = kubectl("get", "all").stdout
    assert "deployment.apps/fmt" in everything and "service/fmt" in everything
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: fmt-pod}\nspec:\n"
        "  containers: [{name: c, image: kctl.local/busybox:1.35}]\n"
    )
    kubectl("apply", "-f", str(pod))
    pods = kubectl("get", "pods", "fmt-pod", "-o", "wide").stdout.splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                               "NOMINATED", "NODE", "READINESS", "GATES"]
    assert pods[1].split()[:4] == ["fmt-pod", "0/1", "Pending", "0"]


def test_describe(kubectl, tmp_path: Path) -> None:
    kubectl("apply", "-f", str(write(tmp_path, "desc")))
    out = kubectl("describe", "deployment", "desc").stdout
    assert "Name:" in out and "desc" in out
    assert "Replicas:" in out and "2 desired" in out
    assert "kctl.local/busybox:1.35" in out


def test_scale_label_annotate(kubectl, tmp_path: Path) -> None:
    kubectl("apply", "-f", str(write(tmp_path, "sc")))
    assert "scaled" in kubectl("scale", "deployment", "sc", "--replicas=5").stdout
    assert get_json(kubectl, "deploy", "sc")["spec"]["replicas"] == 5
    kubectl("scale", "deployment", "sc", "--replicas=4", "--current-replicas=5")
    assert get_json(kubectl, "deploy", "sc")["spec"]["replicas"] == 4
    kubectl("label", "deployment", "sc", "team=blue")
    assert get_json(kubectl, "deploy", "sc")["metadata"]["labels"]["team"] == "blue"
    failed = kubectl("label", "deployment", "sc", "team=red", check=False)
    assert failed.returncode != 0 and "already has a value" in failed.stderr
    kubectl("label", "deployment", "sc", "team=red", "--overwrite")
    kubectl("annotate", "deployment", "sc", "note=hello")
    assert get_json(kubectl, "deploy", "sc")["metadata"]["annotations"]["note"] == "hello"
    kubectl("annotate", "deployment", "sc", "note-")
    assert "note" not in get_json(kubectl, "deploy", "sc")["metadata"]["annotations"]


def test_patch_all_three_types(kubectl, tmp_path: Path) -> None:
    kubectl("apply", "-f", str(write(tmp_path, "pt")))
    kubectl(
        "patch",
        "deployment",
        "pt",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"kctl.local/busybox:2"}]}}}}',
    )
    dep = get_json(kubectl, "deploy", "pt")
    containers = dep["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == ["kctl.local/busybox:2"]
    assert containers[0]["command"] == [
        "sh",
        "-c",
        "httpd -f -p 8080",
    ]  # merged by name, not replaced
    kubectl("patch", "deployment", "pt", "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}')
    assert get_json(kubectl, "deploy", "pt")["metadata"]["labels"]["m"] == "1"
    kubectl(
        "patch",
        "deployment",
        "pt",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/replicas","value":7}]',
    )
    assert get_json(kubectl, "deploy", "pt")["spec"]["replicas"] == 7
    kubectl("set", "image", "deployment/pt", "web=kctl.local/busybox:3")
    images = [
        c["image"]
        for c in get_json(kubectl, "deploy", "pt")["spec"]["template"]["spec"]["containers"]
    ]
    assert images == ["kctl.local/busybox:3"]


def test_diff_exit_codes(kubectl, tmp_path: Path) -> None:
    path = write(tmp_path, "df")
    kubectl("apply", "-f", str(path))
    same = kubectl("diff", "-f", str(path), check=False)
    assert same.returncode == 0, same.stderr
    changed = kubectl("diff", "-f", str(write(tmp_path, "df", replicas=9)), check=False)
    assert changed.returncode == 1, changed.stderr
    assert "+  replicas: 9" in changed.stdout
    assert get_json(kubectl, "deploy", "df")["spec"]["replicas"] == 2  # diff wrote nothing


def test_server_side_apply_and_conflict(kubectl, tmp_path: Path) -> None:
    path = write(tmp_path, "ssa")
    out = kubectl("apply", "--server-side", "-f", str(path)).stdout
    assert "deployment.apps/ssa serverside-applied" in out
    managers = {
        m["manager"]
        for m in get_json(kubectl, "deploy", "ssa", "--show-managed-fields")["metadata"][
            "managedFields"
        ]
    }
    assert "kubectl" in managers
    kubectl("scale", "deployment", "ssa", "--replicas=5")  # another manager takes spec.replicas
    conflict = kubectl("apply", "--server-side", "-f", str(path), check=False)
    assert conflict.returncode != 0
    assert "conflict" in conflict.stderr.lower() and ".spec.replicas" in conflict.stderr
    assert get_json(kubectl, "deploy", "ssa")["spec"]["replicas"] == 5
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))
    assert get_json(kubectl, "deploy", "ssa")["spec"]["replicas"] == 2


def test_client_side_then_server_side_apply(kubectl, tmp_path: Path) -> None:
    path = write(tmp_path, "mig")
    kubectl("apply", "-f", str(path))
    kubectl("apply", "--server-side", "-f", str(write(tmp_path, "mig", replicas=3)))
    assert get_json(kubectl, "deploy", "mig")["spec"]["replicas"] == 3


def test_delete_and_error_messages(kubectl, tmp_path: Path) -> None:
    path = write(tmp_path, "del")
    kubectl("apply", "-f", str(path))
    out = kubectl("delete", "-f", str(path)).stdout
    assert 'deployment.apps "del" deleted' in out and 'service "del" deleted' in out
    missing = kubectl("get", "deployment", "del", check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "del" not found' in missing.stderr
    kubectl("apply", "-f", str(write(tmp_path, "dup")))
    exists = kubectl("create", "-f", str(write(tmp_path, "dup")), check=False)
    assert exists.returncode == 1
    assert (
        "Error from server (AlreadyExists)" in exists.stderr
        and '"dup" already exists' in exists.stderr
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(MANIFEST.format(name="bad", replicas=1).replace("replicas: 1", "replicas: -1"))
    invalid = kubectl("apply", "-f", str(bad), check=False)
    assert invalid.returncode == 1
    assert 'The Deployment "bad" is invalid' in invalid.stderr and "spec.replicas" in invalid.stderr
    stale = get_json(kubectl, "deploy", "dup")
    stale["metadata"]["resourceVersion"] = str(int(stale["metadata"]["resourceVersion"]) - 1)
    stale_file = tmp_path / "stale.json"
    stale_file.write_text(json.dumps(stale))
    kubectl("label", "deployment", "dup", "x=y")
    conflict = kubectl("replace", "-f", str(stale_file), check=False)
    assert conflict.returncode == 1
    assert "Error from server (Conflict)" in conflict.stderr
    assert "the object has been modified" in conflict.stderr


def test_unknown_field_is_rejected_strictly(kubectl, tmp_path: Path) -> None:
    bad = tmp_path / "unknown.yaml"
    bad.write_text(
        MANIFEST.format(name="unk", replicas=1).replace(
            "  replicas: 1", "  replicas: 1\n  bogus: 1"
        )
    )
    result = kubectl("apply", "-f", str(bad), check=False)
    assert result.returncode == 1
    assert 'unknown field "spec.bogus"' in result.stderr
    assert kubectl("get", "deploy", "unk", check=False).returncode == 1  # nothing half-written


def test_get_watch_shows_changes(kubectl, apiserver: ApiServerProcess, tmp_path: Path) -> None:
    kubectl("apply", "-f", str(write(tmp_path, "wt")))
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig), "HOME": str(tmp_path)}
    with subprocess.Popen(
        ["kubectl", "get", "deploy", "wt", "-w", "--output-watch-events"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        try:
            time.sleep(2)
            kubectl("scale", "deployment", "wt", "--replicas=3")
            kubectl("label", "deployment", "wt", "seen=yes")
            time.sleep(2)
        finally:
            proc.terminate()
        out, _ = proc.communicate(timeout=10)
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].split()[:2] == ["EVENT", "NAME"]
    events = [line.split()[0] for line in lines[1:]]
    assert events[0] == "ADDED"
    assert events.count("MODIFIED") >= 2, out
