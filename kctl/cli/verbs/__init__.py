"""One module per verb (``get``, ``apply``, ``delete``...), each registering its command on
:data:`kctl.cli.app.app` when imported. :func:`register_all` imports them all by listing
this package, so adding a verb is adding a file; a verb module imports only typer and
kctl.cli at module level (start-up time), everything else inside its command."""

from __future__ import annotations

import importlib
import pkgutil


def register_all() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if not module.startswith("_"):
            importlib.import_module(f"{__name__}.{module}")
