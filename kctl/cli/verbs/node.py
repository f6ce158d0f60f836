"""``kctl node``: run a node agent (the kubelet's part), here or as many hollow nodes.

The agent's options are declared once, in :mod:`node.settings`, which ``python -m
node`` parses too; this verb hands them its arguments unparsed (click would otherwise
need a second copy of every option), adding the global flags kctl lifted out of the
command line first (``--kubeconfig``, ``--context``, ``-v``). The process code is
imported inside the command, as for ``kctl apiserver``.
"""

from __future__ import annotations

import typer

from kctl.cli.app import app


@app.command(
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "help_option_names": [],
    },
    add_help_option=False,
)
def node(ctx: typer.Context) -> None:
    """Run a node agent: register nodes, renew their Leases, run their pods (--help for options)."""
    from kctl.cli.session import current
    from node.main import main

    flags = current().flags
    argv = list(ctx.args)
    if flags.kubeconfig:
        argv += ["--kubeconfig", flags.kubeconfig]
    if flags.context:
        argv += ["--context", flags.context]
    if flags.verbosity:
        argv += ["-v", str(flags.verbosity)]
    raise typer.Exit(main(argv, prog="kctl node"))
