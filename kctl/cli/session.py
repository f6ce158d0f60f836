"""What every verb needs: the chosen kubeconfig context, a client, and type names.

A :class:`Session` is built once per invocation from the global flags and creates its
client and registry lazily, so a command that fails on its arguments never reads the
kubeconfig, and one that never talks to the server never imports httpx.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kctl.cli.errors import CliError
from kctl.cli.globalflags import GlobalFlags

if TYPE_CHECKING:
    from kctl.api.kinds import Registry, ResourceInfo
    from kctl.client.http import Client
    from kctl.client.kubeconfig import ClientConfig


@dataclass
class Session:
    flags: GlobalFlags

    @functools.cached_property
    def config(self) -> ClientConfig:
        from kctl.client.kubeconfig import ConfigError, load_client_config

        try:
            return load_client_config(self.flags.kubeconfig, context=self.flags.context,
                                      namespace=self.flags.namespace)
        except ConfigError as exc:
            raise CliError(str(exc)) from None

    @property
    def namespace(self) -> str:
        """The namespace a namespaced command works in: -n, else the context's."""
        return self.flags.namespace or self.config.namespace or "default"

    @functools.cached_property
    def client(self) -> Client:
        from kctl.client.http import Client

        return Client(self.config, user_agent="kctl")

    @functools.cached_property
    def registry(self) -> Registry:
        from kctl.api.kinds import default_registry

        return default_registry()

    def resolve(self, word: str) -> ResourceInfo:
        """A user's type word (``po``, ``deploy``, ``deployments.apps``) -> its kind."""
        from kctl.api.kinds import UnknownKind

        try:
            return self.registry.resolve(word)
        except UnknownKind:
            raise CliError(
                f'the server doesn\'t have a resource type "{word}"'
                " (see `kctl api-resources` for the types it serves)"
            ) from None


_current: Session | None = None


def current() -> Session:
    """The session of this invocation (set by :func:`kctl.cli.main.run`)."""
    global _current
    if _current is None:
        _current = Session(GlobalFlags())
    return _current


def start(flags: GlobalFlags) -> Session:
    global _current
    _current = Session(flags)
    return _current
