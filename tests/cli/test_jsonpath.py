"""client-go's JSONPath dialect: unit cases, then templates side by side with kubectl."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kctl.cli.printers.jsonpath import JSONPath, JSONPathError, relaxed

DATA = {
    "kind": "List",
    "items": [
        {
            "metadata": {"name": "a", "labels": {"app": "web", "x.y/z": "dotted"}},
            "spec": {
                "containers": [{"name": "c1", "image": "i1"}, {"name": "c2", "image": "i2"}],
                "n": 1,
            },
        },
        {
            "metadata": {"name": "b", "labels": {"app": "db"}},
            "spec": {"containers": [{"name": "c3", "image": "i3"}], "n": 2},
        },
    ],
}


def run(template: str, data: object = DATA, **kw: bool) -> str:
    return JSONPath(template).execute(data, **kw)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{.items[*].metadata.name}", "a b"),
        ("{.kind}{$.kind}{@.kind}", "ListListList"),
        ("text {.kind} more", "text List more"),
        ('{range .items[*]}{.metadata.name}{"\\n"}{end}', "a\nb\n"),
        ("{range .items[*]}[{.metadata.name}]", "[a][b][]"),  # no {end}: the body runs once more
        ("{range .items[*]}{range .spec.containers[*]}{.name},{end};{end}", "c1,c2,;c3,;"),
        ("{.items[0].spec.containers[0]}", '{"image":"i1","name":"c1"}'),
        ("{.items[*].metadata.labels}", '{"app":"web","x.y/z":"dotted"} {"app":"db"}'),
        ("{.items[-1:].metadata.name}", "b"),
        ("{.items[-1].metadata.name}", "b"),
        ("{.items[0,1].metadata.name}", "a b"),
        ("{.items[::2].metadata.name}", "a"),
        ("{.items[0:0]}", ""),
        ('{.items[?(@.metadata.name=="b")].spec.n}', "2"),
        ("{.items[?(@.spec.n>1)].metadata.name}", "b"),
        ("{.items[?(@.spec.n<=1)].metadata.name}", "a"),
        ("{.items[?(@.metadata.labels.app)].metadata.name}", "a b"),
        ("{.items[?(@.metadata.labels.x\\.y/z)].metadata.name}", "a"),
        ("{.items[*].metadata.labels.x\\.y/z}", "dotted"),
        ("{.items[*].metadata.labels['app']}", "web db"),
        ("{.items[*].metadata.labels['x.y/z']}", ""),  # parsed as .x.y/z, as kubectl does
        ("{..image}", "i1 i2 i3"),
        ("{.items[0].metadata.*}", '{"app":"web","x.y/z":"dotted"} a'),
        ("{.nothing}", ""),
        ("{.}", ""),
        ('{true} {1} {1.5} {"x"}', "true 1 1.5 x"),
        ("{'single'}", "single"),
    ],
)
def test_templates(template: str, expected: str) -> None:
    assert run(template) == expected


def test_json_output_mode() -> None:
    assert run("{.items[*].metadata.name}", as_json=True) == '[\n    "a",\n    "b"\n]\n'
    assert run("{.nothing}", as_json=True) == "[]\n"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.items[5].metadata.name}", "array index out of bounds: index 5, length 2"),
        ("{.items[1:0]}", "starting index 1 is greater than ending index 0"),
        ("{.kind[0]}", "string is not array or slice"),
        ("{.kind[?(@.x)]}", "List is not array or slice and cannot be filtered"),
        ('{.items[?(@.spec.n=="1")]}', "incompatible types for comparison"),
        ("{end}", "not in range, nothing to end"),
        ("{range .items[*]}{.x}{end}{end}", "not in range, nothing to end"),
        ("{hello}", "unrecognized identifier hello"),
    ],
)
def test_execution_errors(template: str, message: str) -> None:
    with pytest.raises(JSONPathError, match=re.escape(message)):
        run(template)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.items[0", "unterminated array"),
        ("{.items", "unclosed action"),
        ("{.a,.b}", "unrecognized character in action: U+002C ','"),
        ('{"open}', "unterminated quoted string"),
        ("{.items[x]}", "invalid array index x"),
        ("{.items[?(@.a==1]}", "unterminated filter"),
        ("{....a}", "invalid multiple recursive descent"),
    ],
)
def test_parse_errors(template: str, message: str) -> None:
    with pytest.raises(JSONPathError, match=re.escape(message)):
        JSONPath(template)


def test_relaxed_expressions() -> None:
    for spelling in ("metadata.name", ".metadata.name", "{metadata.name}", "{.metadata.name}"):
        assert relaxed(spelling) == "{.metadata.name}"
    with pytest.raises(JSONPathError, match="unexpected path string"):
        relaxed("{a}{b}")


# --- side by side ---------------------------------------------------------------------------

PODS = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: pod-a, labels: {app: web, tier: backend, app.kubernetes.io/name: shop}}
  spec: {containers: [{name: c, image: busybox}, {name: d, image: envoy}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: pod-b10, labels: {app: db, n: "20"}}
  spec: {containers: [{name: c, image: busybox}], terminationGracePeriodSeconds: 5}
"""

TEMPLATES = [
    "{.items[*].metadata.name}",
    '{range .items[*]}{.metadata.name}{"\\t"}{.metadata.labels}{"\\n"}{end}',
    "{.items[0].spec.containers[0]}",
    '{.items[?(@.metadata.name=="pod-a")].metadata.labels.tier}',
    "{.items[*].spec.containers[*].image}",
    "{.items[*].metadata.labels['tier']}",
    "{.items[*].metadata.labels.app\\.kubernetes\\.io/name}",
    "{.items[-1:].metadata.name}",
    "{.items[?(@.spec.terminationGracePeriodSeconds==30)].metadata.name}",
    "{.items[?(@.spec.terminationGracePeriodSeconds<30)].metadata.name}",
    "{range .items[*]}[{.metadata.name}]",
    "{.kind}{$.kind}{@.kind}",
    "{.items[0,1].metadata.name}",
    '{true} {1} {1.5} {"x"}',
    "{range .items[*]}{range .spec.containers[*]}{.image},{end}{'\\n'}{end}",
    "{.items[?(@.metadata.labels.n)].metadata.name}",
    '{.items[?(@.metadata.labels.n>"10")].metadata.name}',
    "{.items[0].metadata.managedFields[0].manager}",
    "{.items[100].metadata.name}",
    "{.items[0].metadata.name[0]}",
    '{.items[?(@.spec.priority=="a")]}',
    "{end}",
    "{.items[0",
    "{.a,.b}",
    "{.items[*].metadata.name",
    '{"unterminated}',
    "{.items[x]}",
    "{.items[2:1]}",
    "{.}",
    "{.items[0].spec.containers[*].name}",
]


@pytest.fixture(scope="module")
def pods(kubectl, tmp_path_factory: pytest.TempPathFactory) -> None:
    path: Path = tmp_path_factory.mktemp("jsonpath") / "pods.yaml"
    path.write_text(PODS)
    kubectl("apply", "-f", str(path))


@pytest.mark.kubectl
@pytest.mark.parametrize("template", TEMPLATES)
def test_agrees_with_kubectl(kubectl, kctl, pods, template: str) -> None:
    args = ("get", "pods", "-o", f"jsonpath={template}")
    with ThreadPoolExecutor(2) as pool:
        theirs_f, ours_f = (
            pool.submit(kubectl, *args, check=False),
            pool.submit(kctl, *args, check=False),
        )
        theirs, ours = theirs_f.result(), ours_f.result()
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout)
    # errors match up to the dump of the object (Go's %#v of the same map)
    assert ours.stderr == theirs.stderr
