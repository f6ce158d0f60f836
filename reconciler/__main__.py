"""``python -m reconciler``: the same command as ``kctl reconciler``.

The command line (flags, global flags such as ``--kubeconfig``, error reporting) is
kctl's; this shim runs it rather than importing the CLI package, which sits above the
reconciler in the layering.
"""

from __future__ import annotations

import runpy
import sys

if __name__ == "__main__":
    sys.argv = ["kctl", "reconciler", *sys.argv[1:]]
    runpy.run_module("kctl.cli.main", run_name="__main__", alter_sys=True)
