"""The ``kctl`` entry point: global flags, verb registration, and error reporting.

Every verb lives in its own module under kctl/cli/ and registers itself on the shared
app (:mod:`kctl.cli.app`) when imported; importing them costs only their typer
signatures. The server-side commands (``apiserver``) import their process code inside
the command, so the client verbs never load SQLAlchemy or the API server.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from kctl.cli.app import app
from kctl.cli.kubeconfig_cmd import app as kubeconfig_app

app.add_typer(kubeconfig_app, name="kubeconfig", help="Write kubeconfig files for cluster components.")


def _logging(verbosity: int) -> None:
    level = logging.DEBUG if verbosity >= 4 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def apiserver(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Where the store, PKI and kubeconfigs live.")] = Path("./kctl-data"),
    listen: Annotated[str, typer.Option("--listen", help="HOST:PORT to serve HTTPS on.")] = "127.0.0.1:6443",
    store: Annotated[str, typer.Option("--store", help="Store URL: sqlite:///PATH (default: DATA_DIR/store.db) or postgresql://...")] = "",
    cluster_name: Annotated[str, typer.Option("--cluster-name", help="Name of the cluster and of the kubeconfig context.")] = "kctl",
    advertise_address: Annotated[list[str] | None, typer.Option("--advertise-address", help="Extra address for the serving certificate (repeatable).")] = None,
    service_cidr: Annotated[str, typer.Option("--service-cidr")] = "10.96.0.0/12",
    cluster_cidr: Annotated[str, typer.Option("--cluster-cidr")] = "10.244.0.0/16",
    cluster_dns: Annotated[str, typer.Option("--cluster-dns")] = "10.96.0.10",
    service_node_port_range: Annotated[str, typer.Option("--service-node-port-range", help="NodePort range, FIRST-LAST.")] = "30000-32767",
    insecure_http: Annotated[bool, typer.Option("--insecure-http", help="Serve plain HTTP (local debugging only).")] = False,
) -> None:
    """Run the API server: the versioned store behind the Kubernetes REST API."""
    from kctl.cli.session import current
    from kctl.server.main import ServerSettings, run

    _logging(current().flags.verbosity)
    if ":" not in listen or not listen.rsplit(":", 1)[1].isdigit():
        raise typer.BadParameter(f"--listen must be HOST:PORT, not {listen!r}")
    run(ServerSettings(
        data_dir=data_dir,
        listen=listen,
        store_url=store,
        cluster_name=cluster_name,
        advertise_addresses=list(advertise_address or []),
        insecure_http=insecure_http,
        service_cidr=service_cidr,
        cluster_cidr=cluster_cidr,
        cluster_dns=cluster_dns,
        service_node_port_range=service_node_port_range,
    ))


@app.command()
def version(
    client: Annotated[bool, typer.Option("--client", help="Only the client version.")] = False,
) -> None:
    """Print the client (and, unless --client, the server) version."""
    from kctl import __version__

    typer.echo(f"Client Version: v{__version__}")
    if client:
        return
    from kctl.cli.session import current

    info = current().client.request("GET", "/version")
    typer.echo(f"Server Version: {info.get('gitVersion', 'unknown')}")


def run(argv: list[str] | None = None) -> None:
    from kctl.cli.errors import report
    from kctl.cli.globalflags import lift
    from kctl.cli.session import start

    flags, rest = lift(list(sys.argv[1:] if argv is None else argv))
    from kctl.cli.verbs import register_all

    start(flags)
    register_all()
    try:
        app(args=rest, prog_name="kctl")
    except SystemExit:
        raise
    except BaseException as exc:  # every failure is reported kubectl's way, not as a traceback
        sys.exit(report(exc, flags.verbosity))


if __name__ == "__main__":
    run()
