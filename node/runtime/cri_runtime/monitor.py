"""Container exit detection within a second: a cheap poll of the runtime's lists.

Every ``interval`` (0.5 s) one ``ListContainers`` and one ``ListPodSandbox`` call (no
per-container status) give each container's and sandbox's state; a state that changed
since the last poll -- a container exited, a sandbox died -- pokes that pod's sync.
That is the kubelet's PLEG relist, at a shorter period and with the pod worker woken
directly instead of a 10 s resync. Objects of other nodes sharing the containerd are
ignored by the node label.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from node.runtime import errors
from node.runtime.cri.client import CriClient
from node.runtime.cri_runtime import keys

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5


class ExitMonitor:
    def __init__(
        self,
        cri: CriClient,
        node_name: str,
        poke: Callable[[str], None],
        interval: float = POLL_INTERVAL,
    ) -> None:
        self.cri = cri
        self.node_name = node_name
        self.poke = poke
        self.interval = interval
        self._seen: dict[str, tuple[int, str]] = {}  # id -> (state, pod uid)
        self._failing = False

    async def poll(self) -> set[str]:
        """One relist; the uids of pods whose containers or sandboxes changed state."""
        labels = {keys.NODE: self.node_name}
        containers = await self.cri.list_containers(labels=labels)
        sandboxes = await self.cri.list_pod_sandboxes(labels=labels)
        now: dict[str, tuple[int, str]] = {}
        for c in containers:
            now[c.id] = (int(c.state), c.labels.get(keys.POD_UID, ""))
        for s in sandboxes:
            now["sandbox/" + s.id] = (int(s.state), s.labels.get(keys.POD_UID, ""))
        changed = {
            uid
            for key, (state, uid) in now.items()
            if uid and self._seen.get(key, (None, ""))[0] != state
        }
        changed |= {uid for key, (_, uid) in self._seen.items() if key not in now and uid}
        self._seen = now
        return changed

    async def run(self) -> None:
        first = True
        while True:
            try:
                changed = await self.poll()
            except errors.CriError as exc:
                if not self._failing:
                    log.warning("listing containers failed: %s", exc)
                    self._failing = True
            else:
                if self._failing:
                    log.info("listing containers works again")
                    self._failing = False
                if not first:
                    for uid in changed:
                        self.poke(uid)
                first = False
            await asyncio.sleep(self.interval)
