"""Reading ``-f`` inputs (kctl.cli.manifests): no server needed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kctl.api.kinds import default_registry
from kctl.cli.manifests import (
    ManifestError,
    bind,
    dependency_groups,
    dependency_order,
    load,
    parse,
)

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: x\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_multi_document_yaml_keeps_positions() -> None:
    text = "---\n" + CM.format(name="a") + "---\n# only a comment\n---\n" + CM.format(name="b")
    docs = parse(text, "app.yaml")
    assert [(d.name, d.index, d.line) for d in docs] == [("a", 1, 2), ("b", 2, 11)]
    assert docs[1].where == "app.yaml, document 2"


def test_yaml_is_read_as_kubectl_reads_it() -> None:
    """YAML 1.1 like go-yaml: booleans from on/yes, octal, timestamps stay strings."""
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  on: yes\n  d: 2020-01-01\n  m: 0777\n"
    data = parse(text, "x.yaml")[0].obj["data"]
    assert data == {"true": True, "d": "2020-01-01", "m": 511}


def test_syntax_error_names_file_and_line_from_the_top_of_the_file(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.yaml", CM.format(name="ok") + "---\n" + CM.format(name="b") + '  c: "open\n'
    )
    with pytest.raises(ManifestError) as err:
        load([str(bad)])
    message = str(err.value)
    assert message.startswith(f"error parsing {bad}: error converting YAML to JSON: yaml: line 15:")
    assert "found unexpected end of stream" in message


def test_duplicate_key_and_bad_separator_are_errors() -> None:
    with pytest.raises(ManifestError, match=r'line 7: key "a" already set in map'):
        parse(CM.format(name="x") + "  a: y\n", "dup.yaml")
    with pytest.raises(ManifestError, match="invalid Yaml document separator: oops"):
        parse(CM.format(name="x") + "--- oops\n", "sep.yaml")


def test_json_list_and_json_stream() -> None:
    listing = (
        '{"apiVersion": "v1", "kind": "List", "items": ['
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},'
        '{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}}]}\n'
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}'
    )
    docs = parse(listing, "l.json")
    assert [(d.kind, d.name, d.index, d.item) for d in docs] == [
        ("ConfigMap", "a", 1, 1),
        ("Secret", "b", 1, 2),
        ("ConfigMap", "c", 2, None),
    ]
    with pytest.raises(ManifestError, match=r"error parsing l\.json: json: line 2 column 1"):
        parse('{"apiVersion": "v1",\n}', "l.json")


def test_documents_without_type_or_not_objects() -> None:
    with pytest.raises(ManifestError, match=r"\[apiVersion not set, kind not set\] \(document 1\)"):
        parse("metadata:\n  name: x\n", "n.yaml")
    with pytest.raises(ManifestError, match="invalid object to validate"):
        parse("- a\n- b\n", "s.yaml")


def test_directories_extensions_and_recursion(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", CM.format(name="b"))
    write(
        tmp_path / "a.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}'
    )
    write(tmp_path / "notes.txt", "not a manifest")
    write(tmp_path / "sub" / "c.yml", CM.format(name="c"))
    assert [d.name for d in load([str(tmp_path)])] == ["a", "b"]
    assert [d.name for d in load([str(tmp_path)], recursive=True)] == ["a", "b", "c"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        ManifestError, match=r"recognized file extensions are \[\.json \.yaml \.yml\]"
    ):
        load([str(empty)])
    with pytest.raises(ManifestError, match='the path "nope.yaml" does not exist'):
        load(["nope.yaml"])


def test_stdin_is_named_stdin() -> None:
    docs = load(["-"], stdin=io.StringIO(CM.format(name="s")))
    assert docs[0].source == "STDIN"


def test_kustomization_is_refused_clearly(tmp_path: Path) -> None:
    write(tmp_path / "app" / "kustomization.yaml", "resources: [cm.yaml]\n")
    write(tmp_path / "app" / "cm.yaml", CM.format(name="a"))
    with pytest.raises(ManifestError, match="kustomize is not supported by kctl"):
        load([str(tmp_path / "app")])
    kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    with pytest.raises(ManifestError, match="is a Kustomization"):
        parse(kustomization, "k.yaml")


def test_unknown_kind_names_it_and_points_to_api_resources() -> None:
    docs = parse("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n", "w.yaml")
    with pytest.raises(ManifestError) as err:
        bind(docs, default_registry(), "default")
    assert 'no matches for kind "Widget" in version "example.com/v1"' in str(err.value)
    assert "kctl api-resources" in str(err.value)


def test_namespaces_follow_kubectl_rules() -> None:
    text = (
        CM.format(name="a")
        + "---\n"
        + CM.format(name="b").replace("name: b", "name: b\n  namespace: other")
        + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n  namespace: ignored\n"
    )
    bound = bind(parse(text, "x.yaml"), default_registry(), "ctx")
    assert [m.namespace for m in bound] == ["ctx", "other", None]
    assert "namespace" not in bound[2].body()["metadata"]
    with pytest.raises(ManifestError, match='does not match the namespace "mine"'):
        bind(parse(text, "x.yaml"), default_registry(), "mine", explicit_namespace="mine")


def test_dependency_order_is_stable_and_grouped() -> None:
    kinds = [
        ("apps/v1", "Deployment", "web"),
        ("v1", "ConfigMap", "c1"),
        ("v1", "Service", "svc"),
        ("v1", "Namespace", "ns"),
        ("coordination.k8s.io/v1", "Lease", "l"),
        ("v1", "Secret", "s"),
        ("v1", "ConfigMap", "c2"),
        ("v1", "Pod", "p"),
    ]
    text = "---\n".join(
        f"apiVersion: {av}\nkind: {k}\nmetadata:\n  name: {n}\n" for av, k, n in kinds
    )
    bound = bind(parse(text, "x.yaml"), default_registry(), "default")
    assert [m.name for m in dependency_order(bound)] == [
        "ns",
        "c1",
        "s",
        "c2",
        "svc",
        "web",
        "p",
        "l",
    ]
    assert [[m.name for m in g] for g in dependency_groups(bound)] == [
        ["ns"],
        ["c1", "s", "c2"],
        ["svc"],
        ["web", "p"],
        ["l"],
    ]
