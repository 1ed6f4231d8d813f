"""The node agent's loop: one observed picture, one plan, a small executor (CONVENTIONS 17).

Inputs are two informers (ArmorProfiles in every namespace, pods on this node) and the clock.
Every change, and every window end, recomputes the plan (``agent.windows.plan``); the executor
then installs profiles whose ArmorProfile changed and reports their status, removes profiles of
ArmorProfiles that are gone, makes the tracer follow the plan (``agent.recording``) and delivers
each ended window's BehaviorData in the background until the status service confirms it. What
the agent must not forget across a restart lives on disk under ``--stateDir``: the windows'
snapshots and the uids of windows already delivered.
"""

from __future__ import annotations

import json
import logging
import pathlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from agent import pacing, reporting
from agent.auditing import AuditSource
from agent.installing import ProfileInstaller
from agent.recording import Recording, TracerFactory
from agent.violations import ViolationWatcher, allowing_violations
from agent.windows import Window, WiredContainer, plan, window_of, wired_containers
from api.names import RECONCILE_COUNTER
from generator.codec import to_data

log = logging.getLogger(__name__)
STEP_RETRY_SECONDS = 5.0


class ContainerRuntime(Protocol):
    def cgroup_of(self, container_id: str) -> str | None: ...


class EventPort(Protocol):
    """Kubernetes Events about the pods the agent records (what users see in ``kubectl describe``)."""

    def recording(self, container: WiredContainer, node: str) -> None: ...


class Sources(Protocol):
    """The observed cluster objects (informers in production)."""

    def armor_profiles(self) -> list[dict[str, Any]]: ...

    def pods(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Settings:
    node: str
    state_dir: pathlib.Path
    modeling: bool = True
    audit_log_paths: tuple[str, ...] = ()
    report_rate: float = pacing.DEFAULT_REPORT_RATE  # cluster-wide reports/s the window reports are paced to


class Agent:
    def __init__(self, settings: Settings, sources: Sources, installer: ProfileInstaller,
                 runtime: ContainerRuntime, tracer_factory: TracerFactory, status: reporting.StatusClient,
                 events: EventPort, clock: Callable[[], float] = time.time,
                 violations: ViolationWatcher | None = None) -> None:
        self.settings, self.sources, self.installer, self.runtime = settings, sources, installer, runtime
        self.events, self.violations = events, violations
        self.status, self.clock = status, clock
        self.recording = Recording(settings.state_dir / "windows", tracer_factory)
        self.audit: AuditSource | None = None
        if settings.modeling and settings.audit_log_paths:
            self.audit = AuditSource(settings.audit_log_paths, self.recording.on_event,
                                     self.recording.open_profiles, self.recording.target_of_pid)
        self.installed: dict[str, str] = {}  # ArmorProfile key -> fingerprint of what was installed
        self.deliveries: dict[str, threading.Thread] = {}
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.reported_dir = settings.state_dir / "reported"
        self.reported_dir.mkdir(parents=True, exist_ok=True)

    def reported(self) -> set[str]:
        return {path.name for path in self.reported_dir.iterdir()}

    def step(self) -> float | None:
        """Apply the plan for now; returns when the plan changes by itself (a window end)."""
        now = self.clock()
        profiles = self.sources.armor_profiles()
        self._install(profiles)
        windows = [w for w in map(window_of, profiles) if w is not None] if self.settings.modeling else []
        pods = self.sources.pods()
        containers = wired_containers(pods, self.settings.node)
        current = plan(windows, containers, now, self.reported(), self.report_at)
        log.debug("Planned pods=%d wired=%d targets=%d tracing=%s", len(pods), len(containers),
                  len(current.targets), current.tracing)
        open_windows = {w.key: w for w in windows if w.open_at(now)}
        for uid in self.recording.drop_except({w.uid for w in windows}):
            log.info("Dropped the recording of a deleted ArmorProfile window=%s", uid)
        self._forget_marks({str((p.get("metadata") or {}).get("uid", "")) for p in profiles})
        for container_id in self.recording.sync(current, open_windows, self.runtime.cgroup_of):
            self.events.recording(current.targets[container_id][1], self.settings.node)
        for window in current.due:
            self._deliver(window)
        if self.violations is not None:
            self.violations.watch(allowing_violations(profiles, containers, self.runtime.cgroup_of))
        return current.next_change

    def report_at(self, window: Window) -> float:
        """This node's slot for delivering ``window`` (``agent.pacing``)."""
        return pacing.report_at(window.end, window.uid, window.agents, self.settings.node,
                                self.settings.report_rate)

    def _forget_marks(self, live: set[str]) -> None:
        """Delivery marks of ArmorProfiles that are gone: their windows can never be due again."""
        for mark in self.reported_dir.iterdir():
            if mark.name not in live and mark.name not in self.deliveries:
                mark.unlink(missing_ok=True)

    def _install(self, profiles: list[dict[str, Any]]) -> None:
        seen = {}
        for armor_profile in profiles:
            meta = armor_profile.get("metadata") or {}
            key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
            seen[key] = meta.get("name", "")
            fingerprint = json.dumps([armor_profile.get("spec"), (meta.get("annotations") or {}).get(
                RECONCILE_COUNTER)], sort_keys=True)
            if self.installed.get(key) == fingerprint or meta.get("deletionTimestamp"):
                continue
            outcome = self.installer.install(armor_profile)
            self.installed[key] = fingerprint
            log.info("Installed profile namespace=%s name=%s ok=%s message=%s", outcome.namespace,
                     outcome.profile, outcome.ok, outcome.message)
            body = reporting.profile_status(outcome.namespace, outcome.profile, self.settings.node,
                                            outcome.ok, outcome.message)
            self.background(f"status {key}", "/apis/v1/status", body, lambda: None)
        for key in [k for k in self.installed if k not in seen]:
            del self.installed[key]
        removed = self.installer.remove_all_but(seen.values())
        if removed:
            log.info("Removed profiles of deleted ArmorProfiles names=%s", ",".join(removed))

    def _deliver(self, window: Window) -> None:
        if window.uid in self.deliveries:
            return
        model = self.recording.finish(window)
        body = reporting.behavior_data(window.namespace, window.profile, self.settings.node, window.uid,
                                       to_data(model))

        def confirmed() -> None:
            (self.reported_dir / window.uid).touch()
            self.recording.forget(window)
            log.info("Reported modeling window namespace=%s profile=%s", window.namespace, window.profile)

        self.deliveries[window.uid] = self.background(f"data {window.key}", "/apis/v1/data", body, confirmed)

    def background(self, what: str, path: str, body: Mapping[str, Any],
                    confirmed: Callable[[], None]) -> threading.Thread:
        def send() -> None:
            if reporting.deliver(self.status, path, body, self.stop):
                confirmed()

        thread = threading.Thread(target=send, name=what, daemon=True)
        thread.start()
        return thread

    def poke(self) -> None:
        self.wake.set()

    def run(self) -> None:
        """Step on every change and at every window end, until ``stop``; then save and detach."""
        if self.audit is not None:
            self.audit.start()
        if self.violations is not None:
            self.violations.start()
        try:
            while not self.stop.is_set():
                self.wake.clear()
                try:
                    next_change = self.step()
                except Exception:  # one failed step must not end the node's recording: log, retry
                    log.exception("Agent step failed; trying again in %.0f s", STEP_RETRY_SECONDS)
                    next_change = self.clock() + STEP_RETRY_SECONDS
                timeout = 30.0 if next_change is None else max(0.05, min(30.0, next_change - self.clock()))
                self.wake.wait(timeout)
        finally:
            if self.audit is not None:
                self.audit.stop()
            if self.violations is not None:
                self.violations.close()
            self.recording.close()
