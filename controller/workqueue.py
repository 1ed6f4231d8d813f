"""A work queue like client-go's: keys are de-duplicated, one worker holds a key at a time, failures
come back with capped exponential back-off, and ``add_after`` schedules a later look.

A key added while a worker holds it is marked dirty and queued again when the worker is done, so no
change is lost and no key is reconciled twice at once. ``add_within`` coalesces a burst of changes
into one look at most a given delay later.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self, base_delay: float = 0.05, max_delay: float = 30.0) -> None:
        self._lock = threading.Condition()
        self._queue: list[K] = []
        self._queued: set[K] = set()
        self._active: set[K] = set()
        self._dirty: set[K] = set()
        self._later: list[tuple[float, int, K]] = []
        self._failures: dict[K, int] = {}
        self._counter = itertools.count()
        self._closed = False
        self.base_delay, self.max_delay = base_delay, max_delay

    def add(self, key: K) -> None:
        with self._lock:
            if key in self._active:
                self._dirty.add(key)
            elif key not in self._queued:
                self._queued.add(key)
                self._queue.append(key)
                self._lock.notify()

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._lock:
            heapq.heappush(self._later, (time.monotonic() + delay, next(self._counter), key))
            self._lock.notify()

    def add_within(self, key: K, delay: float) -> None:
        """Look at ``key`` at most ``delay`` seconds from now, once for every change in that time: a
        burst of changes (a model written per group of reports) costs one reconcile, not one each."""
        with self._lock:
            due = time.monotonic() + delay
            soon = any(k == key and at <= due for at, _, k in self._later)
            if soon or key in self._queued or key in self._dirty:
                return
            heapq.heappush(self._later, (due, next(self._counter), key))
            self._lock.notify()

    def _promote(self) -> float | None:
        now = time.monotonic()
        while self._later and self._later[0][0] <= now:
            _, _, key = heapq.heappop(self._later)
            if key in self._active:
                self._dirty.add(key)
            elif key not in self._queued:
                self._queued.add(key)
                self._queue.append(key)
        return self._later[0][0] - now if self._later else None

    def get(self) -> K | None:
        """The next key (the caller must call ``done``), or None once the queue is shut down."""
        with self._lock:
            while True:
                wait = self._promote()
                if self._closed:
                    return None
                if self._queue:
                    key = self._queue.pop(0)
                    self._queued.discard(key)
                    self._active.add(key)
                    return key
                self._lock.wait(timeout=wait if wait is not None else 1.0)

    def done(self, key: K, failed: bool = False) -> None:
        with self._lock:
            self._active.discard(key)
            if failed:
                count = self._failures[key] = self._failures.get(key, 0) + 1
                delay = min(self.base_delay * 2 ** (count - 1), self.max_delay)
                heapq.heappush(self._later, (time.monotonic() + delay, next(self._counter), key))
            else:
                self._failures.pop(key, None)
            if key in self._dirty:
                self._dirty.discard(key)
                if key not in self._queued:
                    self._queued.add(key)
                    self._queue.append(key)
            self._lock.notify_all()

    def failures(self, key: K) -> int:
        with self._lock:
            return self._failures.get(key, 0)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
