"""Short garbage-collection pauses for the API server process (one event loop serves every request).

The store keeps every object and a history of 10,000 changes for watches as Python objects: with a
model of 95 KB written many times a second that is hundreds of thousands of long-lived objects, and
a full collection walking them stops every request for 60-120 ms (measured during the status bench;
none of them was garbage). A real API server's collector runs beside its requests. Here, what a
full collection leaves alive is frozen (``gc.freeze``: out of every later walk; reference counting
still frees it), so the next full collection walks only what is newer. Once every ``RESCAN_SECONDS``
everything is unfrozen again, so that a reference cycle frozen by mistake is collected at the latest
then: one long pause per interval instead of several a second.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

RESCAN_SECONDS = 600.0


class _AfterFullCollections:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.rescanned = clock()

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        now = self.clock()
        if now - self.rescanned >= RESCAN_SECONDS:
            gc.unfreeze()  # the next full collection walks everything once
            self.rescanned = now
        else:
            gc.freeze()


def keep_collections_short() -> None:
    """Freeze what the process has built so far and what every full collection leaves alive."""
    if not any(isinstance(callback, _AfterFullCollections) for callback in gc.callbacks):
        gc.callbacks.append(_AfterFullCollections())
    gc.freeze()
