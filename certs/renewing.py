"""Keep certificates fresh while a server runs: check every ``interval``, renew, then notify.

A daemon thread calls ``rotating.ensure`` (upstream checks every 12 h whether the chain is still
valid 12 h later, spec §2.5) and, when the material changed, calls ``on_change`` — the webhook
sends itself SIGHUP so gunicorn starts new workers that load the new files.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Sequence

from certs.authority import ServingNames
from certs.rotating import RENEWAL_MARGIN, CaBundleSink, ensure
from certs.stores import CertStore

log = logging.getLogger(__name__)
CHECK_INTERVAL = datetime.timedelta(hours=12)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Renewer:
    """Periodic ``ensure``; ``stop`` ends the loop."""

    def __init__(
        self, store: CertStore, names: ServingNames, on_change: Callable[[], None],
        interval: datetime.timedelta = CHECK_INTERVAL, margin: datetime.timedelta = RENEWAL_MARGIN,
        sinks: Sequence[CaBundleSink] = (), clock: Callable[[], datetime.datetime] = _now,
    ) -> None:
        self.store, self.names, self.on_change = store, names, on_change
        self.interval, self.margin, self.sinks, self.clock = interval, margin, sinks, clock
        self._stop = threading.Event()

    def check(self) -> bool:
        """One check; True when the certificates were renewed."""
        outcome = ensure(self.store, self.names, self.clock(), self.margin, self.sinks)
        if outcome.decision == "reuse":
            return False
        log.info("Renewed certificates decision=%s reason=%r", outcome.decision, outcome.reason)
        self.on_change()
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            try:
                self.check()
            except (OSError, ValueError):
                log.exception("Failed to renew certificates")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="cert-renewer", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
