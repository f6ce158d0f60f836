"""The ``kctl`` command: one typer app, every heavy import inside the command that needs it.

Start-up time is part of the interface (a CI script runs kctl many times), so this module
imports only typer; the API server, SQLAlchemy and gRPC load when their command runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from kctl.cli.kubeconfig_cmd import app as kubeconfig_app

app = typer.Typer(
    name="kctl",
    help="kctl: a small, real Kubernetes. kubectl-style CLI, API server, reconciler and node agent.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
app.add_typer(
    kubeconfig_app, name="kubeconfig", help="Write kubeconfig files for cluster components."
)


def _logging(verbosity: int) -> None:
    level = logging.DEBUG if verbosity >= 4 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def apiserver(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the store, PKI and kubeconfigs live.")
    ] = Path("./kctl-data"),
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT to serve HTTPS on.")
    ] = "127.0.0.1:6443",
    store: Annotated[
        str,
        typer.Option(
            "--store",
            help="Store URL: sqlite:///PATH (default: DATA_DIR/store.db) or postgresql://...",
        ),
    ] = "",
    cluster_name: Annotated[
        str,
        typer.Option("--cluster-name", help="Name of the cluster and of the kubeconfig context."),
    ] = "kctl",
    advertise_address: Annotated[
        list[str] | None,
        typer.Option(
            "--advertise-address", help="Extra address for the serving certificate (repeatable)."
        ),
    ] = None,
    service_cidr: Annotated[str, typer.Option("--service-cidr")] = "10.96.0.0/12",
    cluster_cidr: Annotated[str, typer.Option("--cluster-cidr")] = "10.244.0.0/16",
    cluster_dns: Annotated[str, typer.Option("--cluster-dns")] = "10.96.0.10",
    insecure_http: Annotated[
        bool, typer.Option("--insecure-http", help="Serve plain HTTP (local debugging only).")
    ] = False,
    v: Annotated[int, typer.Option("--v", "-v", help="Log verbosity (4+ = debug).")] = 0,
) -> None:
    """Run the API server: the versioned store behind the Kubernetes REST API."""
    _logging(v)
    from kctl.server.main import ServerSettings, run

    if ":" not in listen or not listen.rsplit(":", 1)[1].isdigit():
        raise typer.BadParameter(f"--listen must be HOST:PORT, not {listen!r}")
    run(
        ServerSettings(
            data_dir=data_dir,
            listen=listen,
            store_url=store,
            cluster_name=cluster_name,
            advertise_addresses=list(advertise_address or []),
            insecure_http=insecure_http,
            service_cidr=service_cidr,
            cluster_cidr=cluster_cidr,
            cluster_dns=cluster_dns,
        )
    )


@app.command()
def version(
    client: Annotated[bool, typer.Option("--client", help="Only the client version.")] = False,
) -> None:
    """Print the version."""
    from kctl import __version__

    typer.echo(f"Client Version: v{__version__}")
    if not client:
        typer.echo("Kustomize Version: not supported")


def run() -> None:
    app()


if __name__ == "__main__":
    run()
