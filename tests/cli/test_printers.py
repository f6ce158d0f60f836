"""The printers: unit facts taken from kubectl 1.32's output, and a YAML/JSON stress test
side by side with kubectl (strings that need every quoting and folding rule)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kctl.cli.errors import CliError
from kctl.cli.printers import custom_columns, gofmt, sorting
from kctl.cli.printers import json as kjson
from kctl.cli.printers import yaml as kyaml
from kctl.cli.printers.jsonpath import JSONPathError
from kctl.cli.printers.name import name_of
from kctl.cli.printers.output import object_printer, parse_output, watch_event
from kctl.cli.printers.table import (
    TableOptions,
    TableOutput,
    TablePrinter,
    cell_text,
    format_labels,
)
from kctl.cli.printers.tabwriter import TabWriter, tabulate

# --- tabwriter --------------------------------------------------------------------------


def test_tabwriter_min_width_padding_and_last_column() -> None:
    assert tabulate([["NAME", "READY", "AGE"], ["pod-a", "0/1", "5s"]]) == (
        "NAME    READY   AGE\npod-a   0/1     5s\n"
    )
    assert tabulate([["a", "b", ""], ["c", "d", "e"]]) == "a     b     \nc     d     e\n"


def test_tabwriter_remembers_widths_across_flushes() -> None:
    w = TabWriter()
    w.write([["NAME", "X"], ["a", "1"]])
    assert w.flush() == "NAME   X\na      1\n"
    w.write([["a-much-longer-name", "2"]])
    assert w.flush() == "a-much-longer-name   2\n"
    w.write([["b", "3"]])
    assert w.flush() == "b                    3\n"  # never narrower again
    w.reset_widths()
    w.write([["b", "3"]])
    assert w.flush() == "b     3\n"


def test_tabwriter_column_blocks_for_ragged_rows() -> None:
    assert tabulate([["a", "b", "c"], ["long-cell"], ["x", "y", "z"]]) == (
        "a     b     c\nlong-cell\nx     y     z\n"
    )


# --- tables ------------------------------------------------------------------------------

COLUMNS = [
    {"name": "Name", "type": "string", "format": "name", "priority": 0},
    {"name": "Ready", "type": "string", "format": "", "priority": 0},
    {"name": "Nominated Node", "type": "string", "format": "", "priority": 1},
]


def _table(*rows: tuple[list, dict | None]) -> dict:
    out = {"columnDefinitions": COLUMNS, "rows": []}
    for cells, meta in rows:
        row = {"cells": cells}
        if meta is not None:
            row["object"] = {"kind": "PartialObjectMetadata", "metadata": meta}
        out["rows"].append(row)
    return out


def test_table_headers_wide_and_decorations() -> None:
    table = _table(
        (["web-1", "1/1", "<none>"], {"namespace": "prod", "labels": {"app": "web", "a.b/c": "x"}}),
        (["web-2", 2, None], {"namespace": "dev"}),
    )
    plain = TablePrinter(TableOptions()).rows(table)
    assert plain == [["NAME", "READY"], ["web-1", "1/1"], ["web-2", "2"]]
    wide = TablePrinter(TableOptions(wide=True)).rows(table)
    assert wide[0] == ["NAME", "READY", "NOMINATED NODE"] and wide[2] == ["web-2", "2", ""]
    decorated = TablePrinter(
        TableOptions(
            with_namespace=True, kind="pod", show_labels=True, label_columns=("app", "a.b/c")
        )
    ).rows(table)
    assert decorated[0] == ["NAMESPACE", "NAME", "READY", "APP", "C", "LABELS"]
    assert decorated[1] == ["prod", "pod/web-1", "1/1", "web", "x", "a.b/c=x,app=web"]
    assert decorated[2] == ["dev", "pod/web-2", "2", "", "", "<none>"]


def test_table_headers_once_and_not_for_empty_tables() -> None:
    printer = TablePrinter(TableOptions())
    assert printer.rows(_table()) == []
    assert printer.rows(_table((["a", "1/1", ""], None)))[0] == ["NAME", "READY"]
    assert printer.rows(_table((["b", "1/1", ""], None))) == [["b", "1/1"]]
    event = {"rows": [{"cells": ["c", "0/1", ""]}]}  # watch events drop the definitions
    assert printer.rows(event, "MODIFIED") == [["MODIFIED", "c", "0/1"]]
    assert TablePrinter(TableOptions(no_headers=True)).rows(_table((["a", "", ""], None))) == [
        ["a", ""]
    ]


def test_table_event_column_is_padded_like_kubectl() -> None:
    rows = TablePrinter(TableOptions()).rows(_table((["a", "1/1", ""], None)), "ADDED")
    assert rows == [["EVENT", "NAME", "READY"], ["ADDED   ", "a", "1/1"]]


def test_cells_cut_at_line_breaks_and_escape_terminal_codes() -> None:
    assert cell_text("line one\nline two") == "line one..."
    assert cell_text("a\x1b[31mred") == "a^[[31mred"
    assert cell_text(3) == "3" and cell_text(True) == "true" and cell_text(None) == ""
    assert format_labels({"app": "web", "app.kubernetes.io/name": "x"}) == (
        "app.kubernetes.io/name=x,app=web"
    )


def test_table_output_separates_types_with_a_blank_line() -> None:
    buf = io.StringIO()
    out = TableOutput(buf)
    for name in ("pod/a", "service/b"):
        out.new_type()
        out.add(TablePrinter(TableOptions()).rows(_table(([name, "1", ""], None))))
    out.flush()
    assert buf.getvalue() == "NAME    READY\npod/a   1\n\nNAME        READY\nservice/b   1\n"
    quiet = io.StringIO()
    out = TableOutput(quiet, no_headers=True)
    out.new_type()
    out.add([["a", "1"]])
    out.new_type()
    out.add([["b", "2"]])
    out.flush()
    assert quiet.getvalue() == "a     1\nb     2\n"


# --- YAML and JSON -----------------------------------------------------------------------


def test_yaml_quoting_rules() -> None:
    doc = {
        "data": {
            "a": "1",
            "b": "true",
            "c": "",
            "d": "hello: world",
            "e": "multi\nline\n",
            "f": "it's",
            "g": '{"x": 1}',
            "h": "2024-01-01T00:00:00Z",
            "i": "yes",
            "j": "  lead",
            "s": "tab\there",
            "t": "multi\nline no trailing",
            "u": "08",
            "v": "1_000",
            "x": ".5",
            "z": "é unicode <&>",
        },
        "list": [],
        "map": {},
        "n": None,  # "n" is a YAML 1.1 boolean: the key gets quoted
        "num": 1.5,
    }
    assert kyaml.dumps(doc) == (
        "data:\n"
        '  a: "1"\n'
        '  b: "true"\n'
        '  c: ""\n'
        "  d: 'hello: world'\n"
        "  e: |\n    multi\n    line\n"
        "  f: it's\n"
        "  g: '{\"x\": 1}'\n"
        '  h: "2024-01-01T00:00:00Z"\n'
        '  i: "yes"\n'
        "  j: '  lead'\n"
        '  s: "tab\\there"\n'
        "  t: |-\n    multi\n    line no trailing\n"
        '  u: "08"\n'
        '  v: "1_000"\n'
        '  x: ".5"\n'
        "  z: é unicode <&>\n"
        "list: []\n"
        "map: {}\n"
        '"n": null\n'
        "num: 1.5\n"
    )


def test_yaml_sequences_in_mappings_are_not_indented() -> None:
    doc = {"spec": {"containers": [{"name": "web", "ports": [{"containerPort": 80}]}]}}
    assert kyaml.dumps(doc) == (
        "spec:\n  containers:\n  - name: web\n    ports:\n    - containerPort: 80\n"
    )


def test_yaml_folds_long_strings_after_80_columns() -> None:
    text = "a very long string value that goes on and on and on for more than eighty characters so it wraps maybe"
    assert kyaml.dumps({"data": {"k": text}}) == (
        "data:\n  k: a very long string value that goes on and on and on for more than eighty characters\n"
        "    so it wraps maybe\n"
    )


def test_yaml_key_order_is_go_yamls() -> None:
    keys = {"app10": 1, "app9": 1, "app": 1, "app.kubernetes.io/name": 1, "_x": 1, "K": 1, "a": 1}
    assert kyaml.sorted_keys(keys) == [
        "_x", "K", "a", "app", "app.kubernetes.io/name", "app9", "app10",
    ]  # fmt: skip


def test_yaml_refuses_what_go_yaml_cannot_read() -> None:
    with pytest.raises(kyaml.YamlError, match="control characters are not allowed"):
        kyaml.dumps({"a": "x\x7f"})


def test_json_is_go_marshal_indent() -> None:
    doc = {"b": [1, 2.0, 0.5], "a": {"html": "<a&b>", "uni": "é", "empty": {}, "none": []}}
    assert kjson.dumps(doc) == (
        "{\n"
        '    "a": {\n'
        '        "empty": {},\n'
        '        "html": "\\u003ca\\u0026b\\u003e",\n'
        '        "none": [],\n'
        '        "uni": "é"\n'
        "    },\n"
        '    "b": [\n        1,\n        2,\n        0.5\n    ]\n'
        "}\n"
    )
    assert kjson.dumps_event("ADDED", {"b": 1, "a": 2}) == (
        '{"type":"ADDED","object":{"a":2,"b":1}}\n'
    )


def test_go_value_formatting() -> None:
    assert [gofmt.format_float(x) for x in (1e6, 123456.0, 0.5, 1e-5, 2.0)] == [
        "1e+06", "123456", "0.5", "1e-05", "2",
    ]  # fmt: skip
    assert [gofmt.json_float(x) for x in (1e-7, 1e21, 1e20)] == [
        "1e-7", "1e+21", "100000000000000000000",
    ]  # fmt: skip
    assert gofmt.sprint({"b": [1, None], "a": "x"}) == "map[a:x b:[1 <nil>]]"
    assert gofmt.go_repr({"a": [1, "q\n"], "n": None}) == (
        'map[string]interface {}{"a":[]interface {}{1, "q\\n"}, "n":interface {}(nil)}'
    )


# --- name, custom columns, output selection --------------------------------------------------


def test_name_printer() -> None:
    assert name_of({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}}) == (
        "deployment.apps/w"
    )
    assert name_of({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}, "created") == (
        "pod/p created"
    )


def test_custom_columns_cells() -> None:
    cols = custom_columns.parse_spec(
        "NAME:.metadata.name,IMG:spec.containers[*].image,L:{.metadata.labels},X:.nope"
    )
    pod = {
        "metadata": {"name": "p", "labels": {"b": "2", "a": "1"}},
        "spec": {"containers": [{"image": "i1"}, {"image": "i2"}]},
    }
    assert custom_columns.rows(cols, [pod], headers=True) == [
        ["NAME", "IMG", "L", "X"],
        ["p", "i1,i2", "map[a:1 b:2]", "<none>"],
    ]
    with pytest.raises(JSONPathError, match="expected <header>:<json-path-expr>"):
        custom_columns.parse_spec("NAME")


def test_output_flag_errors_are_kubectls() -> None:
    assert parse_output("jsonpath={.a}").argument == "{.a}"
    assert parse_output("wide").wide and parse_output(None).is_table
    with pytest.raises(
        CliError, match='unable to match a printer suitable for the output format "foo"'
    ):
        parse_output("foo")
    with pytest.raises(CliError, match="template format specified but no template given"):
        parse_output("jsonpath=")


def test_object_printers_hide_managed_fields_and_separate_documents() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "managedFields": [{}]}}
    buf = io.StringIO()
    printer = object_printer(parse_output("yaml"))
    printer.print(obj, buf)
    printer.print(obj, buf)
    assert buf.getvalue() == (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
    )
    buf = io.StringIO()
    object_printer(parse_output("jsonpath={.metadata.managedFields}")).print(obj, buf)
    assert buf.getvalue() == "[{}]"
    buf = io.StringIO()
    object_printer(parse_output("json")).print(watch_event("DELETED", obj), buf)
    assert (
        buf.getvalue()
        == '{"type":"DELETED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}}\n'
    )


# --- sorting -------------------------------------------------------------------------------


def test_sort_by_quantities_strings_and_missing() -> None:
    pods = [{"metadata": {"name": n, "labels": lbl}} for n, lbl in [
        ("p100", {"n": "100"}), ("p20", {"n": "20"}), ("x", {}), ("p3", {"n": "3"}), ("y", {}),
    ]]  # fmt: skip
    names = [p["metadata"]["name"] for p in sorting.sort_objects(pods, ".metadata.labels.n")]
    assert names == ["y", "x", "p3", "p20", "p100"]  # missing first, in reverse
    by_name = [p["metadata"]["name"] for p in sorting.sort_objects(pods, "{.metadata.name}")]
    assert by_name == ["p100", "p20", "p3", "x", "y"]  # byte order, not natural order
    with pytest.raises(sorting.SortError, match="couldn't find any field"):
        sorting.sort_objects(pods, ".nothing")
    with pytest.raises(sorting.SortError, match="unsortable type: map"):
        sorting.sort_objects(pods, ".metadata")
    assert sorting.sort_rows([{"object": p} for p in pods], ".nothing") is None


# --- side by side with kubectl ----------------------------------------------------------------

TRICKY = {
    "long_plain": "word " * 40 + "end",
    "long_single": "key: " + "word " * 30 + "end",
    "long_double": "tab\there " + "word " * 30 + "end",
    "long_double_spaces": "tab\t" + "ab  " * 30 + "end",
    "emoji": "smile \U0001f600 ok",
    "cr": "a\rb",
    "trailing_space_nl": "line \nnext\n",
    "lead_nl": "\nstarts with newline\n",
    "lead_space_block": "  indented\nline\n",
    "two_trailing": "x\n\n",
    "only_nl": "\n",
    "crlf": "a\r\nb\n",
    "nbsp": "a\u00a0b",
    "u2028": "a\u2028b",
    "k10": "a", "k9": "b", "k_1": "c", "kA": "d", "k-1": "e", "k.1": "f", "K": "g",
    "k007": "h", "k07": "i", "k0": "j", "a1b": "l", "a01b": "m", "_x": "n", "9": "q", "10": "r",
    "url": "http://example.com:8080/path",
    "question": "? mark", "star": "*star", "bang": "!bang", "pct": "%pct", "at": "@at",
    "pipe": "| pipe", "gt": "> gt", "dashes": "---", "dots": "...x", "dash_no_space": "-x",
    "hash_mid": "a#b", "hash_space": "a #b", "comma": "a, b",
    "ts_date": "2024-01-02", "ts_bad": "2024-13-45", "ts_space": "2024-01-02 10:11:12",
    "ts_t": "2024-1-2T3:04:05Z", "ts_off": "2024-01-02T03:04:05+01:00",
    "hex": "0xZZ", "hexok": "0x1F", "octal": "0777", "binary": "0b101", "base60": "1:20",
    "plus": "+1", "inf": ".inf", "float_exp": "6.02e23", "version": "1.2.3", "ip": "10.0.0.1",
    "ON": "ON", "y": "y", "tilde": "~x", "big": "18446744073709551616",
    "bighex": "0xFFFFFFFFFFFFFFFFFFFF", "bell": "a\u0007b",
    "utf8": "héllo wörld ünïcödé " * 5, "long_key_" + "x" * 130: "long key",
    "single_quote_start": "'quoted'", "backslash": "a\\b", "long_word": "x" * 100,
    "long_words_then_space": "y" * 85 + " z", "spaces_run_long": "a" * 78 + "  b" + " c" * 10,
    "long_single_quotes": "a: " + "it's " * 30,
    "long_literal_line": "first line\n" + "w " * 60 + "\n",
    "empty": "", "space": " ", "colon": ":", "null": "null",
}  # fmt: skip


@pytest.mark.kubectl
def test_yaml_and_json_stress_agree_with_kubectl(kubectl, kctl, tmp_path: Path) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "tricky",
            "labels": {"app.kubernetes.io/name": "x", "app": "y", "app10": "z", "app9": "w"},
            "annotations": {"note": "multi\nline annotation\n", "a.b/c": "tab\tx"},
        },
        "data": TRICKY,
    }
    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(cm))
    kubectl("apply", "-f", str(path))
    for fmt in ("yaml", "json"):
        theirs = kubectl("get", "cm", "tricky", "-o", fmt).stdout
        assert kctl("get", "cm", "tricky", "-o", fmt).stdout == theirs
    theirs = kubectl("get", "cm", "tricky", "-o", "yaml", "--show-managed-fields").stdout
    assert kctl("get", "cm", "tricky", "-o", "yaml", "--show-managed-fields").stdout == theirs
