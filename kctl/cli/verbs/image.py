"""``kctl image pack|busybox|load|push``: images for kctl's nodes without Docker.

* ``pack SRC -t NAME:TAG -o FILE.tar`` writes an OCI archive from a directory (the
  root filesystem) or a static binary (placed at ``/NAME`` and made the entrypoint);
  ``--entrypoint``/``--cmd`` take a JSON array or a shell-quoted string.
* ``busybox -t NAME:TAG -o FILE.tar`` builds the busybox image the examples and tests
  use (Debian's busybox-static, every applet linked in /bin); the default tag is
  ``busybox:kctl``, not ``latest``, whose pull policy would be Always.
* ``load FILE.tar --containerd-socket PATH | --node NAME`` imports an archive into a
  containerd's ``k8s.io`` namespace (native platform only). ``--node`` finds a node of
  this machine through its Node object's ``kctl.dev/data-dir`` annotation, which the
  node agent sets; the socket is ``DATA_DIR/containerd.sock``.
* ``push FILE.tar|NAME:TAG --registry HOST:PORT`` pushes to a loopback registry over
  plain http; a NAME:TAG is first exported from a node's containerd.

The image code lives in :mod:`kctl.images` and is imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kctl.cli.app import app
from kctl.cli.errors import CliError

if TYPE_CHECKING:
    from kctl.images.archive import ImageConfig

image_app = typer.Typer(
    no_args_is_help=True,
    help="Build OCI image archives and load or push them for kctl's nodes (no Docker needed).",
)
app.add_typer(image_app, name="image")

DATA_DIR_ANNOTATION = "kctl.dev/data-dir"
SOCKET_NAME = "containerd.sock"
DEFAULT_BUSYBOX_TAG = "busybox:kctl"

TagOpt = Annotated[str, typer.Option("--tag", "-t", help="Image name, NAME:TAG.")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Archive to write (.tar).")]
SocketOpt = Annotated[
    str | None, typer.Option("--containerd-socket", help="The containerd socket to use.")
]
NodeOpt = Annotated[
    str | None, typer.Option("--node", help="A node of this machine (its containerd).")
]


def split_command(value: str | None) -> list[str] | None:
    """``'["/bin/sh","-c"]'`` (JSON) or ``/bin/sh -c`` (shell words) -> a list."""
    if value is None:
        return None
    text = value.strip()
    if text.startswith("["):
        import json

        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CliError(f"invalid JSON array {value!r}: {exc}") from None
        if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
            raise CliError(f"{value!r}: expected a JSON array of strings")
        return parsed
    import shlex

    return shlex.split(text)


def parse_env(items: list[str]) -> list[str]:
    for item in items:
        if "=" not in item or item.startswith("="):
            raise CliError(f"invalid --env {item!r}: expected KEY=VALUE")
    return list(items)


def _reference(tag: str) -> str:
    from kctl.images.reference import InvalidReference, parse

    try:
        return parse(tag).full
    except InvalidReference as exc:
        raise CliError(str(exc)) from None


def _build_config(
    entrypoint: str | None, cmd: str | None, env: list[str], workdir: str | None
) -> ImageConfig:
    from kctl.images.archive import ImageConfig

    return ImageConfig(
        entrypoint=split_command(entrypoint),
        cmd=split_command(cmd),
        env=parse_env(env),
        workdir=workdir or "",
    )


@image_app.command("pack")
def pack(
    src: Annotated[Path, typer.Argument(help="A root filesystem directory or a static binary.")],
    tag: TagOpt,
    output: OutOpt,
    entrypoint: Annotated[
        str | None, typer.Option(help="ENTRYPOINT (JSON array or words).")
    ] = None,
    cmd: Annotated[str | None, typer.Option(help="CMD (JSON array or words).")] = None,
    env: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, repeatable.")] = None,
    workdir: Annotated[str | None, typer.Option(help="Working directory.")] = None,
) -> None:
    """Write an OCI image archive from a directory or a static binary."""
    from kctl.images.build import BuildError
    from kctl.images.build import pack as pack_image

    ref = _reference(tag)
    config = _build_config(entrypoint, cmd, env or [], workdir)
    try:
        built = pack_image(src, ref, output, config)
    except (BuildError, OSError) as exc:
        raise CliError(str(exc)) from None
    typer.echo(f"{built.ref.familiar} {built.manifest_digest} -> {output}")


@image_app.command("busybox")
def busybox(
    output: OutOpt,
    tag: Annotated[str, typer.Option("--tag", "-t", help="Image name.")] = DEFAULT_BUSYBOX_TAG,
    busybox_path: Annotated[
        str | None, typer.Option("--busybox", help="A static busybox binary.")
    ] = None,
) -> None:
    """Write the busybox image (static busybox, every applet linked in /bin)."""
    from kctl.images.build import BuildError, busybox_image

    ref = _reference(tag)
    try:
        built = busybox_image(ref, output, busybox_path)
    except (BuildError, OSError) as exc:
        raise CliError(str(exc)) from None
    typer.echo(f"{built.ref.familiar} {built.manifest_digest} -> {output}")


def node_socket(node_name: str) -> str:
    """The containerd socket of a node on this machine, from its Node object."""
    from kctl.api.errors import NotFound
    from kctl.cli.session import current
    from kctl.client.resources import NODES

    try:
        node_obj = current().client.get(NODES, node_name)
    except NotFound:
        raise CliError(f'node "{node_name}" not found') from None
    annotations = (node_obj.get("metadata") or {}).get("annotations") or {}
    data_dir = annotations.get(DATA_DIR_ANNOTATION)
    if not data_dir:
        raise CliError(
            f'node "{node_name}" has no {DATA_DIR_ANNOTATION} annotation: it does not run '
            "containerd on this machine (use --containerd-socket)"
        )
    socket = Path(data_dir) / SOCKET_NAME
    if not socket.exists():
        raise CliError(f'node "{node_name}": {socket} does not exist (not on this machine?)')
    return str(socket)


def _socket(containerd_socket: str | None, node_name: str | None) -> str:
    if bool(containerd_socket) == bool(node_name):
        raise CliError("exactly one of --containerd-socket or --node is required")
    return containerd_socket or node_socket(node_name or "")


@image_app.command("load")
def load(
    archive: Annotated[Path, typer.Argument(help="An image archive (kctl image pack).")],
    containerd_socket: SocketOpt = None,
    node_name: NodeOpt = None,
) -> None:
    """Import an image archive into a node's containerd (k8s.io, native platform)."""
    from kctl.images.load import LoadError, import_archive

    socket = _socket(containerd_socket, node_name)
    if not archive.is_file():
        raise CliError(f"{archive}: no such file")
    try:
        names = import_archive(socket, archive)
    except LoadError as exc:
        raise CliError(str(exc)) from None
    for name in names:
        typer.echo(f"loaded {name}")


@image_app.command("push")
def push(
    source: Annotated[str, typer.Argument(help="FILE.tar, or NAME:TAG in a node's containerd.")],
    registry: Annotated[str, typer.Option(help="The registry, HOST:PORT on loopback.")],
    tag: Annotated[
        str | None, typer.Option("--tag", "-t", help="Push under this NAME:TAG instead.")
    ] = None,
    containerd_socket: SocketOpt = None,
    node_name: NodeOpt = None,
) -> None:
    """Push an archive's images (or a node's image) to a loopback registry."""
    import tempfile

    from kctl.images.reference import InvalidReference, check_loopback_registry

    try:
        check_loopback_registry(registry)
    except InvalidReference as exc:
        raise CliError(f"--registry: {exc}") from None
    path = Path(source)
    if path.is_file():
        _push_archive(path, registry, tag)
        return
    if not (containerd_socket or node_name):
        raise CliError(
            f"{source}: no such file (to push an image from a node's containerd, "
            "give --containerd-socket or --node)"
        )
    from kctl.images.load import LoadError, export_image

    socket = _socket(containerd_socket, node_name)
    with tempfile.TemporaryDirectory(prefix="kctl-push-") as work:
        exported = Path(work) / "image.tar"
        try:
            export_image(socket, _reference(source), exported)
        except LoadError as exc:
            raise CliError(str(exc)) from None
        _push_archive(exported, registry, tag or source)


def _push_archive(path: Path, registry: str, tag: str | None) -> None:
    import httpx

    from kctl.images.archive import ArchiveError, OciArchive
    from kctl.images.reference import InvalidReference, parse
    from kctl.images.registry import PushError, RegistryClient, push_image, target_reference

    try:
        with OciArchive(path) as archive, RegistryClient(registry) as client:
            images = archive.images()
            if not images:
                raise CliError(f"{path}: no image for this platform in the archive")
            if tag and len(images) > 1:
                raise CliError(f"{path} holds {len(images)} images: --tag needs exactly one")
            for image in images:
                name = tag or image.name
                if not name:
                    raise CliError(f"{path}: an image has no name; give --tag NAME:TAG")
                target = target_reference(parse(name), registry)
                result = push_image(client, archive, image, target)
                typer.echo(f"pushed {result.reference} {result.digest}")
    except (ArchiveError, PushError, InvalidReference) as exc:
        raise CliError(str(exc)) from None
    except httpx.HTTPError as exc:
        raise CliError(f"registry {registry}: {exc}") from None
