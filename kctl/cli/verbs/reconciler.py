"""``kctl reconciler``: run the controllers and the scheduler (kube-controller-manager +
kube-scheduler in one process). The process code is imported inside the command."""

from __future__ import annotations

from typing import Annotated

import typer

from kctl.cli.app import app


@app.command()
def reconciler(
    controllers: Annotated[str, typer.Option("--controllers", help="Controllers to run: '*' for all, 'name' to add, '-name' to leave out (deployment, replicaset, endpoints, garbagecollector, namespace, nodeipam, nodelifecycle, scheduler).")] = "*",
    controller_option: Annotated[list[str] | None, typer.Option("--controller-option", help="KEY=VALUE setting for a controller, e.g. nodelifecycle.node-monitor-grace-period=50s (repeatable).")] = None,
    leader_elect: Annotated[bool, typer.Option("--leader-elect/--no-leader-elect", help="Run only while holding the kube-system/kctl-reconciler Lease.")] = True,
    lease_duration: Annotated[str, typer.Option("--leader-elect-lease-duration")] = "15s",
    renew_deadline: Annotated[str, typer.Option("--leader-elect-renew-deadline")] = "10s",
    retry_period: Annotated[str, typer.Option("--leader-elect-retry-period")] = "2s",
    identity: Annotated[str, typer.Option("--identity", help="Leader election identity (default: hostname_random).")] = "",
) -> None:
    """Run the controllers and the scheduler against the API server in --kubeconfig."""
    import logging

    from kctl.cli.session import current
    from kctl.client.leaderelection import LeaseTiming
    from reconciler.controller import parse_seconds
    from reconciler.main import (
        ReconcilerSettings,
        SettingsError,
        default_identity,
        parse_options,
        run,
        select_controllers,
    )

    flags = current().flags
    level = logging.DEBUG if flags.verbosity >= 4 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if flags.verbosity < 8:  # one line per HTTP request only when asked for (-v 8)
        for noisy in ("httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        timing = LeaseTiming(parse_seconds(lease_duration), parse_seconds(renew_deadline), parse_seconds(retry_period))
        settings = ReconcilerSettings(
            kubeconfig=flags.kubeconfig,
            controllers=select_controllers(controllers),
            options=parse_options(list(controller_option or [])),
            leader_elect=leader_elect,
            identity=identity or default_identity(),
            timing=timing,
        )
    except (SettingsError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    run(settings)
