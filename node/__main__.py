"""``python -m node``: the node agent, exactly as ``kctl node`` runs it."""

from __future__ import annotations

from node.main import main

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m node"))
