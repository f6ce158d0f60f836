"""The containerd runtime of the node agent: pods through CRI with kubelet semantics.

:mod:`.runtime` is the :class:`~node.runtime.base.Runtime` implementation; the other
modules each build one piece (sandbox and container configs, env, volumes, images,
cgroups, backoff, probes, exit detection, the machine side in :mod:`.host`).
"""

from node.runtime.cri_runtime.host import NodeHost, NodeHostConfig, NotReady
from node.runtime.cri_runtime.runtime import CriRuntime

__all__ = ["CriRuntime", "NodeHost", "NodeHostConfig", "NotReady"]
