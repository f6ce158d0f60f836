"""The listener thread of a shared store: turns other servers' commits into pokes.

It blocks on the backend's listener (PostgreSQL LISTEN) and, when woken or when the
poll interval passes without a notification (the fallback for a lost NOTIFY or a
broken listening connection), pokes the feed on the event loop, which then reads the
log past its revision. It never reads rows itself, so there is exactly one reader of
the log per store and one place that orders what is delivered.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from kctl.store.backends import Backend, Listener
from kctl.store.backends.base import is_driver_error

logger = logging.getLogger(__name__)


class ListenerThread:
    def __init__(
        self,
        backend: Backend,
        loop: asyncio.AbstractEventLoop,
        poke: Callable[[], None],
        poll_interval: float,
    ) -> None:
        self.backend = backend
        self.loop = loop
        self.poke = poke
        self.poll_interval = max(0.01, poll_interval)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kctl-store-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Blocking: wake the listener and wait for the thread."""
        self._stop.set()
        try:
            self.backend.wake_listeners()
        except Exception as err:  # noqa: BLE001 - best effort, the poll ends it anyway
            logger.debug("could not wake the store listener: %s", err)
        self._thread.join(timeout=self.poll_interval + 5)

    def _run(self) -> None:
        listener: Listener | None = None
        broken = False
        while not self._stop.is_set():
            try:
                if listener is None:
                    listener = self.backend.listener()
                    if listener is None:
                        return
                    if broken:
                        logger.info("store listener reconnected")
                        broken = False
                listener.wait(self.poll_interval)
            except Exception as err:
                if not is_driver_error(err):
                    logger.exception("store listener failed")
                elif not broken:
                    logger.warning("store listener lost its connection: %s", err)
                broken = True
                if listener is not None:
                    try:
                        listener.close()
                    except Exception:  # noqa: BLE001
                        pass
                    listener = None
                self._stop.wait(self.poll_interval)
            if self._stop.is_set():
                break
            try:
                self.loop.call_soon_threadsafe(self.poke)
            except RuntimeError:  # the loop is closed
                break
        if listener is not None:
            try:
                listener.close()
            except Exception:  # noqa: BLE001
                pass
