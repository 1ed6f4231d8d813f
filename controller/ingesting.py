"""Durable ingestion of node reports: a report is answered only after the model holding it is stored.

Reports for one profile are written in groups (group commit): the first caller for a profile starts
a writer thread (a greenlet under gevent). It lets the oldest waiting report gather company for
``GATHER_SECONDS`` (a model write costs the same for one report or fifty), takes every report
waiting for that profile, merges them into the model in one union (``reports.merge_reports``),
stores it in one write (``ModelStore``: CRDInternal or LocalDisk; the object's ``reports`` name the
nodes counted in this window, so data and count are stored together; the controller mirrors them
into the status once the reports are quiet), retrying on conflicts, wakes every caller of the group
with the outcome, and goes on with the reports that arrived meanwhile (no caller waits for groups
other than its own). The last stored model (and its data as the generator's union, so the next group
merges without reading it again) is kept and written back with its resourceVersion, so a model
someone else changed meanwhile (the controller finishing it, an import) is a conflict and is read
again. A crash between store and answer makes the agent retry; merging is idempotent, so nothing is
lost and nothing is counted twice. Events about stored reports are told off the write path, gathered
for ``NOTIFY_INTERVAL``. Load reports (``record_status``: every agent sends one when a profile
appears) are grouped the same way per ArmorProfile, one status write per group.
"""

from __future__ import annotations

import datetime
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from api.names import ARMOR_PROFILE_MODELS, ARMOR_PROFILES
from controller.kube import Cluster
from controller.modelstore import ModelStore
from controller.reports import Report, add_violations, load_status, merge_reports, union_of
from controller.timings import MERGE_SECONDS
from controller.windows import window_id
from generator.union import Union

log = logging.getLogger(__name__)
CONFLICT_RETRIES = 8
WINDOW_TTL = 2.0
GATHER_SECONDS = 0.02  # the least a report waits for others to share its model write
NOTIFY_INTERVAL = 0.5  # seconds the Events of stored reports gather


DATA, STATUS = "data", "status"  # what a writer stores: models, or ArmorProfile statuses
Key = tuple[str, str, str]  # (DATA or STATUS, namespace, profile): one writer each


class UnknownProfile(LookupError):
    """The report names an ArmorProfile that does not exist (answered 404)."""


@dataclass
class _Waiter:
    report: Report
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    since: float = field(default_factory=time.monotonic)


class Ingestor:
    def __init__(self, cluster: Cluster, models: ModelStore,
                 on_stored: Callable[[list[Report]], None] | None = None) -> None:
        self.cluster = cluster
        self.models = models
        self.on_stored = on_stored
        self._lock = threading.Lock()
        self._pending: dict[Key, list[_Waiter]] = {}
        self._writing: set[Key] = set()
        self._stored: queue.Queue[list[Report]] = queue.Queue(maxsize=10000)
        self._notifier_pid = 0  # the thread is started in the serving process (after a fork)
        # per profile: the last stored model and its data as a union (extended by the next merge),
        # written under _writing
        self._kept: dict[tuple[str, str], tuple[dict[str, Any] | None, Union]] = {}
        self._windows: dict[tuple[str, str], tuple[str, float]] = {}

    def _profile(self, report: Report) -> dict[str, Any]:
        profile = self.cluster.get(ARMOR_PROFILES, report.namespace, report.profile)
        if profile is None:
            raise UnknownProfile(f"ArmorProfile {report.namespace}/{report.profile} does not exist.")
        return profile

    def record_status(self, report: Report) -> None:
        """A node's load report, on the ArmorProfile's status (idempotent per node); returns once it is
        stored. Every agent reports when a profile appears, so the reports waiting for one profile
        share one write, like data."""
        self._stored_with_others((STATUS, report.namespace, report.profile), report)

    def _write_status(self, first: Report, reports: list[Report]) -> None:
        for _ in range(CONFLICT_RETRIES):
            profile = self._profile(first)
            for report in reports:
                profile = {**profile, "status": load_status(profile, report)}
            try:
                self.cluster.replace_status(ARMOR_PROFILES, profile)
                return
            except ApiException as error:
                if error.status != 409:
                    raise
        raise RuntimeError("too many conflicts writing the ArmorProfile status")

    def record_violations(self, report: Report) -> None:
        """A node's allowed violations, in the model's status (the object's, never its data)."""
        for _ in range(CONFLICT_RETRIES):
            model = self.cluster.get_model(report.namespace, report.profile)
            if model is None:
                raise UnknownProfile(f"ArmorProfileModel {report.namespace}/{report.profile} does not exist.")
            try:
                status = add_violations(model, report)
                self.cluster.replace_status(ARMOR_PROFILE_MODELS, {**model, "status": status})
                log.info("Stored violations profile=%s/%s node=%s count=%d", report.namespace, report.profile,
                         report.node, len(report.violations))
                return
            except ApiException as error:
                if error.status != 409:
                    raise
        raise RuntimeError("too many conflicts writing the ArmorProfileModel status")

    def record_data(self, report: Report) -> None:
        """Merge a node's data into the model; returns once it is stored (raises otherwise)."""
        self._stored_with_others((DATA, report.namespace, report.profile), report)

    def _stored_with_others(self, key: Key, report: Report) -> None:
        """Queue the report for its writer (started when there is none) and wait for its group."""
        waiter = _Waiter(report)
        with self._lock:
            self._pending.setdefault(key, []).append(waiter)
            start = key not in self._writing
            if start:
                self._writing.add(key)
        if start:  # the writer is its own thread: no caller's answer waits for other callers' groups
            threading.Thread(target=self._drain, args=(key,), name="report-writer", daemon=True).start()
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error

    def _drain(self, key: Key) -> None:
        while True:
            self._gather(key)
            with self._lock:
                group = self._pending.pop(key, [])
                if not group:
                    self._writing.discard(key)
                    return
            stored = False
            try:
                write = self._write if key[0] == DATA else self._write_status
                write(group[0].report, [w.report for w in group])
                stored = True
            except BaseException as error:
                for waiter in group:
                    waiter.error = error
            for waiter in group:
                waiter.done.set()
            if stored and key[0] == DATA and self.on_stored is not None:
                self._start_notifier()
                try:
                    self._stored.put_nowait([w.report for w in group])
                except queue.Full:
                    log.warning("Dropped a stored-reports notification (queue full)")

    def _gather(self, key: Key) -> None:
        """Let the oldest waiting report be ``GATHER_SECONDS`` old before writing: the reports that
        arrive meanwhile share its write (a model write costs the same for one report or fifty)."""
        with self._lock:
            pending = self._pending.get(key)
            oldest = pending[0].since if pending else None
        if oldest is not None and oldest + GATHER_SECONDS > time.monotonic():
            time.sleep(oldest + GATHER_SECONDS - time.monotonic())

    def _start_notifier(self) -> None:
        """Start the notifier once per process. Never while holding ``_lock``: under gevent that lock
        is a real one (made before the worker patched threading) and ``start`` yields to the hub, so
        another greenlet taking the lock would block the whole worker."""
        with self._lock:
            start = self._notifier_pid != os.getpid()
            self._notifier_pid = os.getpid()
        if start:
            threading.Thread(target=self._notify_loop, name="stored-reports", daemon=True).start()

    def _notify_loop(self) -> None:
        """Tell the hook (Events) off the write path, coalescing the groups stored while it was busy;
        a failing hook loses no report."""
        assert self.on_stored is not None
        while True:
            batches = [self._stored.get()]
            time.sleep(NOTIFY_INTERVAL)  # a burst of groups becomes one Event per profile, not one each
            while not self._stored.empty():  # groups stored meanwhile: one notification per profile
                batches.append(self._stored.get_nowait())
            by_profile: dict[tuple[str, str], list[Report]] = {}
            for report in (r for batch in batches for r in batch):
                by_profile.setdefault((report.namespace, report.profile), []).append(report)
            for reports in by_profile.values():
                try:
                    self.on_stored(reports)
                except Exception as error:
                    log.warning("Could not report stored reports error=%r", error)

    def _window(self, report: Report) -> str:
        """The ArmorProfile's uid (the window), re-read at most every ``WINDOW_TTL`` seconds."""
        key, now = (report.namespace, report.profile), time.monotonic()
        cached = self._windows.get(key)
        if cached is None or cached[1] < now:
            cached = (window_id(self._profile(report)), now + WINDOW_TTL)
            self._windows[key] = cached
        return cached[0]

    def _write(self, first: Report, reports: list[Report]) -> dict[str, Any]:
        """Merge and store; the last stored model is reused while its resourceVersion still holds."""
        key = (first.namespace, first.profile)
        for _ in range(CONFLICT_RETRIES):
            started = time.perf_counter()
            window = self._window(first)
            kept = self._kept.pop(key, None)
            if kept is None:
                current = self.models.load(first.namespace, first.profile)
                kept = current, union_of(current)
            current, union = kept
            with MERGE_SECONDS.time():
                model = merge_reports(current, reports, window, datetime.datetime.now(datetime.UTC), union)
            merged = time.perf_counter()
            try:
                stored = self.models.save(model)
            except ApiException as error:
                if error.status != 409:
                    raise
                continue
            self._kept[key] = {**stored, "data": model["data"]}, union
            log.info("Stored node reports profile=%s/%s reports=%d merge=%.3fs model=%.3fs nodes=%s",
                     first.namespace, first.profile, len(reports), merged - started,
                     time.perf_counter() - merged, ",".join(r.node for r in reports))
            return stored
        raise RuntimeError("too many conflicts writing the ArmorProfileModel")
