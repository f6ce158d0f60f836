"""``kctl label TYPE NAME key=value key- [--overwrite]``: kubectl's label verb.

Shared with ``annotate`` (same arguments, same patch, different words): the command
and its work live in :mod:`kctl.cli.metadata_edit`.
"""

from __future__ import annotations

from kctl.cli.app import app
from kctl.cli.metadata_edit import LABEL, make_command

app.command("label")(make_command(LABEL))
