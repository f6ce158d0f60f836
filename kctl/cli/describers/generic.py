"""kubectl's generic describer, for every kind without a dedicated one (Event, Lease,
kctl's own kinds): the object's fields as nested ``Label: value`` lines.

Field names become labels the way kubectl makes them: split at camel-case
boundaries (an upper-case run followed by lower case gives up its last letter to
the next word, so ``podIPs`` reads ``Pod I Ps``), each word title-cased, common
acronyms (``API``, ``UID``...) upper-cased; names with other characters than letters
and ``-`` (``a.txt``, label keys) are kept as they are. Maps nest one level deeper,
list items print one after another under their field's label, scalars print with
Go's ``%v``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kctl.cli.describers import events
from kctl.cli.describers.common import Obj, annotations_block, labels_block, meta
from kctl.cli.describers.context import DescribeContext
from kctl.cli.describers.gofmt import go_value
from kctl.cli.describers.writer import LEVEL_0, PrefixWriter

ACRONYMS = ("API", "URL", "UID", "OSB", "GUID")
SKIPPED = (
    ".metadata.managedFields",
    ".metadata.name",
    ".metadata.namespace",
    ".metadata.labels",
    ".metadata.annotations",
)


def describe_generic(ctx: DescribeContext, obj: Obj) -> str:
    md = meta(obj)
    found = events.search(ctx, obj, str(obj.get("kind") or "")) if ctx.show_events else None
    w = PrefixWriter()
    w.write(LEVEL_0, f"Name:\t{md.get('name', '')}\n")
    w.write(LEVEL_0, f"Namespace:\t{md.get('namespace', '')}\n")
    labels_block(w, "Labels", md.get("labels"))
    annotations_block(w, "Annotations", md.get("annotations"))
    write_content(w, LEVEL_0, obj, "")
    if found is not None:
        events.write_events(w, found)
    return w.getvalue()


def write_content(w: PrefixWriter, level: int, content: Mapping[str, Any], path: str) -> None:
    """``printUnstructuredContent``: fields in sorted order, skipping :data:`SKIPPED`."""
    for field in sorted(content):
        value = content[field]
        field_path = f"{path}.{field}"
        if field_path in SKIPPED:
            continue
        if isinstance(value, Mapping):
            w.write(level, f"{smart_label(field)}:\n")
            write_content(w, level + 1, value, field_path)
        elif isinstance(value, list):
            w.write(level, f"{smart_label(field)}:\n")
            for item in value:
                if isinstance(item, Mapping):
                    write_content(w, level + 1, item, field_path)
                else:
                    w.write(level + 1, f"{go_value(item)}\n")
        else:
            w.write(level, f"{smart_label(field)}:\t{go_value(value)}\n")


def _char_class(ch: str) -> int:
    if ch.islower():
        return 1
    if ch.isupper():
        return 2
    if ch.isdigit():
        return 3
    return 4


def camel_split(text: str) -> list[str]:
    """``camelcase.Split``: runs of one character class, with ``PDFLoader`` giving
    ``PDF``, ``Loader``."""
    runs: list[list[str]] = []
    last = 0
    for ch in text:
        cls = _char_class(ch)
        if runs and cls == last:
            runs[-1].append(ch)
        else:
            runs.append([ch])
        last = cls
    for i in range(len(runs) - 1):
        if runs[i] and runs[i][0].isupper() and runs[i + 1][0].islower():
            runs[i + 1].insert(0, runs[i].pop())
    return ["".join(r) for r in runs if r]


def smart_label(field: str) -> str:
    """``smartLabelFor``: ``apiVersion`` -> ``API Version``, ``uid`` -> ``UID``."""
    if any(not (ch.isalpha() or ch == "-") for ch in field):
        return field
    words = []
    for part in camel_split(field):
        if part == "_":
            continue
        if part.upper() in ACRONYMS:
            words.append(part.upper())
        else:
            words.append(part[:1].upper() + part[1:])
    return " ".join(words)
