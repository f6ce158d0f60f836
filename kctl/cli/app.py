"""The one typer application every verb module registers its command on.

Verb modules import only typer and this module at import time; everything heavy (the
HTTP client, YAML, the kinds registry) is imported inside the command function, so
``kctl version --client`` stays fast however many verbs exist.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kctl",
    help="kctl: a small, real Kubernetes. kubectl-style CLI, API server, reconciler and node agent.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
