"""Recording on a node: one supervised tracer, one durable aggregate per open window.

The node runs a single tracer (``tracer.client``) while some window is open and none otherwise.
Each recorded container is one tracer target, named after its container id; its events go to the
aggregate of its window, which is snapshotted to the node's disk (``agent.snapshots``) so that an
agent killed mid-window restarts from the snapshot and loses nothing it saved. A tracer that dies
is restarted with capped back-off, its targets added again, and the restart is counted in every
open window's coverage (``tracerRestarts``), since events of the gap are lost.
"""

from __future__ import annotations

import logging
import pathlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from agent.auditing import routing_target
from agent.snapshots import DurableAggregator
from agent.windows import Plan, Window

log = logging.getLogger(__name__)
Event = dict[str, Any]
Sink = Callable[[Event], None]


class TracerPort(Protocol):
    """What the agent needs of a tracer client."""

    def add(self, name: str, spec: str) -> None: ...

    def remove(self, name: str) -> None: ...

    def flush(self) -> dict[str, int]: ...

    def close(self, timeout: float = 30.0) -> None: ...

    def alive(self) -> bool: ...


TracerFactory = Callable[[Sink], TracerPort]
CgroupOf = Callable[[str], str | None]


def target_name(container_id: str) -> str:
    return "c" + container_id[:24]


class Recording:
    """The node's recording state; ``sync(plan)`` makes the tracer follow the plan."""

    def __init__(self, state_dir: pathlib.Path, tracer_factory: TracerFactory,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.state_dir = state_dir
        self.tracer_factory = tracer_factory
        self.clock = clock
        self.tracer: TracerPort | None = None
        self.aggregates: dict[str, DurableAggregator] = {}  # window uid -> aggregate
        self.windows: dict[str, Window] = {}  # window key -> open window
        self.targets: dict[str, str] = {}  # tracer target -> window uid
        self.cgroups: dict[str, str] = {}  # cgroup directory -> tracer target
        self.restarts = 0
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def snapshot_path(self, window: Window) -> pathlib.Path:
        return self.state_dir / f"{window.namespace}_{window.profile}_{window.uid}.snapshot"

    def aggregate(self, window: Window) -> DurableAggregator:
        """The window's aggregate, restored from its snapshot when the agent restarted."""
        with self._lock:
            if window.uid not in self.aggregates:
                self.state_dir.mkdir(parents=True, exist_ok=True)
                path = str(self.snapshot_path(window))
                self.aggregates[window.uid] = DurableAggregator(path, window.profile)
            return self.aggregates[window.uid]

    def on_event(self, event: Event) -> None:
        """Tracer and audit-log callback: route the event to its window's aggregate.

        A tracer event names its target (a container); an AppArmor audit record names the
        profile, which is the window's; audit stats name ``auditlog:<target>``.
        """
        target = routing_target(event)
        with self._lock:
            uid = self.targets.get(target)
            if uid is None:
                uid = next((w.uid for w in self.windows.values() if w.profile == target), None)
            aggregate = self.aggregates.get(uid) if uid else None
            if aggregate is not None:
                aggregate.add(event)

    def open_profiles(self) -> set[str]:
        """The profiles of the open windows (the audit source keeps their records only)."""
        return {window.profile for window in self.windows.values()}

    def target_of_pid(self, pid: int) -> str | None:
        """The recorded container ``pid`` runs in, from its cgroup v2 membership."""
        try:
            lines = pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None
        member = next((line[3:] for line in lines if line.startswith("0::")), None)
        if member is None:
            return None
        with self._lock:
            return next((t for path, t in self.cgroups.items() if path.endswith(member)), None)

    def sync(self, plan: Plan, open_windows: Mapping[str, Window], cgroup_of: CgroupOf) -> list[str]:
        """Attach or detach the tracer, and add and remove targets, as ``plan`` says.

        Returns the ids of the containers that are traced from now on.
        """
        for window in open_windows.values():
            self.aggregate(window)
        self.windows = dict(open_windows)
        if not plan.tracing:
            self._stop_tracer()
            return []
        tracer = self._running_tracer()
        if tracer is None:
            return []
        wanted = {target_name(cid): open_windows[key].uid for cid, (key, _c) in plan.targets.items()}
        for name in [n for n in self.targets if n not in wanted]:
            self._remove(tracer, name)
        added = []
        for cid, (key, _container) in plan.targets.items():
            name = target_name(cid)
            if name in self.targets:
                continue
            cgroup = cgroup_of(cid)
            if cgroup is None:
                log.warning("No cgroup found for a wired container container=%s", cid)
                continue
            if self._add(tracer, name, cgroup, open_windows[key].uid):
                added.append(cid)
        return added

    def _running_tracer(self) -> TracerPort | None:
        if self.tracer is not None and self.tracer.alive():
            return self.tracer
        if self.tracer is not None:  # it died: count it, start again after a back-off
            self.restarts += 1
            self._mark_restart()
            self.tracer, self.targets = None, {}
            self._retry_at = self.clock() + min(30.0, 0.5 * 2 ** min(self.restarts, 6))
            log.error("Tracer exited, restarting restarts=%d", self.restarts)
        if self.clock() < self._retry_at:
            return None
        self.tracer = self.tracer_factory(self.on_event)
        log.info("Started tracer")
        return self.tracer

    def _mark_restart(self) -> None:
        for window in self.windows.values():
            aggregate = self.aggregates.get(window.uid)
            if aggregate is not None:
                aggregate.add({"v": 1, "kind": "stats", "target": "", "tracerRestarts": 1})

    def _add(self, tracer: TracerPort, name: str, cgroup: str, uid: str) -> bool:
        with self._lock:
            self.targets[name] = uid
            self.cgroups[cgroup] = name
        try:
            tracer.add(name, f"cgroup={cgroup}")
        except RuntimeError as error:  # TracerError: a container that is already gone
            with self._lock:
                self.targets.pop(name, None)
                self.cgroups.pop(cgroup, None)
            log.warning("Could not trace container target=%s cgroup=%s error=%s", name, cgroup, error)
            return False
        log.info("Tracing container target=%s cgroup=%s", name, cgroup)
        return True

    def _remove(self, tracer: TracerPort, name: str) -> None:
        try:
            tracer.remove(name)  # its last events reach on_event before this returns
        except RuntimeError as error:
            log.warning("Could not remove target target=%s error=%s", name, error)
        with self._lock:
            self.targets.pop(name, None)
            self.cgroups = {path: t for path, t in self.cgroups.items() if t != name}

    def _stop_tracer(self) -> None:
        if self.tracer is not None:
            tracer, self.tracer = self.tracer, None
            for name in list(self.targets):
                self._remove(tracer, name)
            tracer.close()
            log.info("Stopped tracer: no modeling window is open")

    def finish(self, window: Window) -> Any:
        """End ``window``: its targets' final events are in, its aggregate saved; returns the model."""
        if self.tracer is not None:
            for name in [n for n, uid in self.targets.items() if uid == window.uid]:
                self._remove(self.tracer, name)
        aggregate = self.aggregate(window)
        with self._lock:
            aggregate.save()
            return aggregate.aggregator.model()

    def forget(self, window: Window) -> None:
        """The window's report was confirmed: drop its aggregate, snapshot and journal."""
        with self._lock:
            aggregate = self.aggregates.pop(window.uid, None)
        if aggregate is not None:
            aggregate.remove()
        self.snapshot_path(window).unlink(missing_ok=True)

    def drop_except(self, live: set[str]) -> list[str]:
        """Forget windows whose ArmorProfile is gone (never reported, upstream §3.9); returns uids."""
        with self._lock:
            gone = [uid for uid in self.aggregates if uid not in live]
            for uid in gone:
                self.aggregates.pop(uid).remove()
        if self.state_dir.is_dir():
            for path in [*self.state_dir.glob("*.snapshot"), *self.state_dir.glob("*.snapshot.journal")]:
                uid = path.name.split(".snapshot")[0].rsplit("_", 1)[-1]
                if uid not in live:
                    path.unlink(missing_ok=True)
                    gone.append(uid)
        return sorted(set(gone))

    def save_all(self) -> None:
        with self._lock:
            for aggregate in self.aggregates.values():
                aggregate.save()

    def close(self) -> None:
        self.save_all()
        self._stop_tracer()
