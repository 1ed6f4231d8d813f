"""What a node should record, as pure functions over the cluster's objects (DESIGN §3.2 step 3).

The agent's inputs — the ArmorProfiles of every namespace, the pods on its node and the clock —
become one ``Plan``: which containers the tracer follows and for which modeling window, whether
the tracer is needed at all, and which windows have ended and are due to be reported. The agent
(``agent.running``) applies the difference between plans; nothing here touches the network, the
kernel or the disk (kubelet's ``syncPod``, SPO's ``profilerecorder``).

A window is one ArmorProfile in BehaviorModeling: it opens at the ArmorProfile's creation time and
ends ``spec.behaviorModeling.duration`` minutes later, so the guide's patch of the duration to 1
ends it at the next plan. A container is recorded for a window when its pod runs on this node,
the webhook wired it to that profile (``localhost/<profile>`` in one of the accepted pod
annotations, upstream spec §2.3) and it is running; an opted-out (``unconfined``) container is
never wired, so never recorded.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from agent.pacing import agents_of
from api.names import APPARMOR_KUBERNETES, APPARMOR_VARMOR, BPF_VARMOR, SECCOMP_VARMOR

# The pod annotations through which the webhook names a container's profile, in upstream's order.
WIRING_PREFIXES = (BPF_VARMOR, APPARMOR_KUBERNETES, APPARMOR_VARMOR, SECCOMP_VARMOR)
LOCALHOST = "localhost/"
RUNTIME_PREFIX = "containerd://"


@dataclass(frozen=True)
class Window:
    """One modeling window: an ArmorProfile in BehaviorModeling, identified by its uid."""

    namespace: str
    profile: str
    uid: str
    enforcer: str
    start: float
    duration_minutes: int
    agents: int = field(default=0, compare=False)  # nodes expected to report it (agent.pacing)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.profile}"

    @property
    def end(self) -> float:
        return self.start + 60.0 * self.duration_minutes

    def open_at(self, now: float) -> bool:
        return self.start <= now < self.end


@dataclass(frozen=True)
class WiredContainer:
    """A running container of a pod on this node, wired by the webhook to ``profile``."""

    container_id: str
    profile: str
    pod_namespace: str
    pod_name: str
    name: str


@dataclass(frozen=True)
class Plan:
    """What should be true on the node now."""

    targets: Mapping[str, tuple[str, WiredContainer]]  # container id -> (window key, container)
    tracing: bool  # some window is open: the tracer is attached
    due: tuple[Window, ...]  # ended windows past their report time, not yet reported, oldest end first
    next_change: float | None  # the next window end or report time, when the plan changes by itself


def parse_time(text: str) -> float:
    """An RFC 3339 timestamp (``2026-12-01T20:00:00Z``) as epoch seconds."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def window_of(armor_profile: Mapping[str, Any]) -> Window | None:
    """The modeling window of an ArmorProfile, or None when it does not model."""
    meta, spec = armor_profile.get("metadata") or {}, armor_profile.get("spec") or {}
    modeling = spec.get("behaviorModeling") or {}
    duration = modeling.get("duration")
    if not modeling.get("enable") or not isinstance(duration, int) or duration <= 0:
        return None
    if meta.get("deletionTimestamp") or not meta.get("creationTimestamp"):
        return None
    profile = spec.get("profile") or {}
    return Window(namespace=meta.get("namespace", ""), profile=meta.get("name", ""), uid=meta.get("uid", ""),
                  enforcer=str(profile.get("enforcer", "")), start=parse_time(meta["creationTimestamp"]),
                  duration_minutes=duration, agents=agents_of(armor_profile))


def wired_profile(annotations: Mapping[str, str], container: str) -> str | None:
    """The profile the webhook wired ``container`` to, from the pod's annotations."""
    for prefix in WIRING_PREFIXES:
        value = annotations.get(prefix + container, "")
        if value.startswith(LOCALHOST):
            return value[len(LOCALHOST):]
    return None


def wired_containers(pods: Iterable[Mapping[str, Any]], node: str) -> list[WiredContainer]:
    """The running, wired containers of the pods scheduled on ``node``."""
    found = []
    for pod in pods:
        meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
        if spec.get("nodeName") != node or meta.get("deletionTimestamp"):
            continue
        annotations = meta.get("annotations") or {}
        for container in status.get("containerStatuses") or []:
            profile = wired_profile(annotations, container.get("name", ""))
            container_id = str(container.get("containerID", ""))
            if profile is None or not container_id.startswith(RUNTIME_PREFIX):
                continue
            if "running" not in (container.get("state") or {}):
                continue
            found.append(WiredContainer(container_id[len(RUNTIME_PREFIX):], profile,
                                        meta.get("namespace", ""), meta.get("name", ""), container["name"]))
    return found


def plan(windows: Iterable[Window], containers: Iterable[WiredContainer], now: float,
         reported: Set[str], report_at: Callable[[Window], float] = lambda w: w.end) -> Plan:
    """The node's plan at ``now``; ``reported`` holds the uids of windows already delivered.

    An ended window is due from ``report_at(window)`` on (its end plus this node's slot,
    ``agent.pacing``; by default its end).

    A container wired to a profile whose window is open is a target of that window (a profile
    name is unique per namespace, and cluster policies' profiles carry the install namespace in
    their name, so the name alone picks the window).
    """
    windows = list(windows)
    open_by_profile = {w.profile: w for w in windows if w.open_at(now)}
    targets = {c.container_id: (open_by_profile[c.profile].key, c)
               for c in containers if c.profile in open_by_profile}
    unreported = [(w, max(w.end, report_at(w))) for w in windows if w.uid not in reported]
    due = tuple(sorted((w for w, at in unreported if now >= at), key=lambda w: w.end))
    ends = [w.end for w in windows if w.open_at(now)]
    starts = [w.start for w in windows if now < w.start]
    slots = [at for _w, at in unreported if now < at]
    upcoming = ends + starts + slots
    return Plan(targets=targets, tracing=bool(open_by_profile), due=due,
                next_change=min(upcoming) if upcoming else None)
