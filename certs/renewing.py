"""Keep certificates fresh while a server runs: check every ``interval``, renew, then notify.

A daemon thread calls ``rotating.ensure`` (upstream checks every 12 h whether the chain is still
valid 12 h later, spec §2.5) and, when the material changed, calls ``on_change``. A failed check
(an API error, a full disk) is retried with capped exponential back-off (``tenacity``) instead of
waiting for the next interval. Servers pick renewed files up by themselves (``serving.tls``).
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Sequence

import tenacity

from certs.authority import ServingNames
from certs.rotating import RENEWAL_MARGIN, CaBundleSink, ensure
from certs.stores import CertStore

log = logging.getLogger(__name__)
CHECK_INTERVAL = datetime.timedelta(hours=12)
RETRY_MIN, RETRY_MAX = datetime.timedelta(seconds=1), datetime.timedelta(minutes=5)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class _Stopped(tenacity.stop.stop_base):
    """Stop retrying once the renewer is stopped."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self.event.is_set()


class Renewer:
    """Periodic ``ensure``; ``stop`` ends the loop."""

    def __init__(
        self, store: CertStore, names: ServingNames, on_change: Callable[[], None],
        interval: datetime.timedelta = CHECK_INTERVAL, margin: datetime.timedelta = RENEWAL_MARGIN,
        sinks: Sequence[CaBundleSink] = (), clock: Callable[[], datetime.datetime] = _now,
        retry_min: datetime.timedelta = RETRY_MIN,
    ) -> None:
        self.store, self.names, self.on_change = store, names, on_change
        self.interval, self.margin, self.sinks, self.clock = interval, margin, sinks, clock
        self.retry_min = retry_min
        self._stop = threading.Event()

    def check(self) -> bool:
        """One check; True when the certificates were renewed."""
        outcome = ensure(self.store, self.names, self.clock(), self.margin, self.sinks)
        if outcome.decision == "reuse":
            return False
        log.info("Renewed certificates decision=%s reason=%r", outcome.decision, outcome.reason)
        self.on_change()
        return True

    def check_with_retries(self) -> bool:
        """``check``, retried with back-off until it succeeds, ``interval`` passes or ``stop``."""
        retrying = tenacity.Retrying(
            wait=tenacity.wait_exponential(multiplier=self.retry_min.total_seconds(),
                                           min=self.retry_min.total_seconds(), max=RETRY_MAX.total_seconds()),
            stop=tenacity.stop_after_delay(self.interval.total_seconds()) | _Stopped(self._stop),
            sleep=self._sleep, reraise=True,
            before_sleep=lambda state: log.warning("Failed to check certificates, will retry attempt=%d "
                                                   "error=%r", state.attempt_number,
                                                   str(state.outcome.exception() if state.outcome else "")),
        )
        return bool(retrying(self.check))

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            try:
                self.check_with_retries()
            except Exception:  # the loop must outlive any failure; the next interval tries again
                log.exception("Failed to renew certificates")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="cert-renewer", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
