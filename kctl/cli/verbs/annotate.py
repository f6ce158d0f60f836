"""``kctl annotate TYPE NAME key=value key- [--overwrite]``: kubectl's annotate verb.

Shared with ``label`` (same arguments, same patch, different words): the command and
its work live in :mod:`kctl.cli.metadata_edit`.
"""

from __future__ import annotations

from kctl.cli.app import app
from kctl.cli.metadata_edit import ANNOTATE, make_command

app.command("annotate")(make_command(ANNOTATE))
