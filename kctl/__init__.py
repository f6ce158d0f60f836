"""kctl: a small, real Kubernetes in Python.

Layers (checked by import-linter): kctl.api at the bottom (object model, schemas,
patches, errors); kctl.store and kctl.server above it; kctl.client above kctl.api;
the CLI, reconciler and node agent are API clients only.
"""

__version__ = "0.1.0"
