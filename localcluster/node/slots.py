"""kubelet's per-container bookkeeping on a CRI node, and the pod status computed from it (pure).

A ``Slot`` is one container of a pod across its restarts: the current CRI container id, the restart
count, the waiting reason while it cannot run (``ContainerCreating``, ``ErrImageNeverPull``,
``CreateContainerError``, ``CrashLoopBackOff``, ...), the last terminated state, and the back-off
(10 s doubling to 5 min, as kubelet's; the first restart is immediate). ``restart_wanted`` applies the
restart policy; ``pod_status`` and ``phase`` build what kubelet writes to the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localcluster.node.statuses import pod_conditions
from localcluster.runtime.images import normalise

BACKOFF_BASE = 10.0
BACKOFF_MAX = 300.0


@dataclass
class Slot:
    """One container of a pod, as kubelet tracks it."""

    spec: dict[str, Any]
    container_id: str = ""
    previous_id: str = ""
    restart_count: int = 0
    image_id: str = ""
    waiting: tuple[str, str] | None = ("ContainerCreating", "")
    running_since: str = ""
    terminated: dict[str, Any] | None = None  # the current instance's end, when it ended
    last_terminated: dict[str, Any] | None = None
    backoff: float = 0.0
    retry_at: float = 0.0
    pull_started: float = 0.0  # monotonic time of the first Pulling event of the current pull
    reported: set[tuple[str, str]] = field(default_factory=set)  # events already sent
    probes: dict[Any, Any] = field(default_factory=dict)  # kind -> probing.Tracker of probed_id
    probed_id: str = ""

    @property
    def started(self) -> bool:
        """The startup probe passed (or there is none)."""
        startup = self.probes.get("startup")
        return startup is None or startup.result is True

    @property
    def ready(self) -> bool:
        """Started, and the readiness probe passed (or there is none)."""
        readiness = self.probes.get("readiness")
        return self.started and (readiness is None or readiness.result is True)

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def next_backoff(self, now: float, base: float = BACKOFF_BASE) -> float:
        """Schedule the next restart: immediately the first time, then 10 s, 20 s, ... 5 min."""
        delay = self.backoff
        self.backoff = min(BACKOFF_MAX, base if self.backoff == 0 else self.backoff * 2)
        self.retry_at = now + delay
        return delay


def stamp(ns: int, default: str) -> str:
    """A CRI nanosecond timestamp as RFC 3339 (``default`` when unset)."""
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ns else default


def terminated_state(slot: Slot, st: Any, now: str) -> dict[str, Any]:
    """The ``terminated`` state of a container whose CRI status is ``st`` (None: the container is gone)."""
    if slot.terminated is not None:
        return slot.terminated
    if st is None:
        return {
            "exitCode": 137,
            "reason": "ContainerStatusUnknown",
            "startedAt": slot.running_since or now,
            "finishedAt": now,
            "containerID": f"containerd://{slot.container_id}",
        }
    code = int(st.exit_code)
    return {
        "exitCode": code,
        "reason": st.reason or ("Completed" if code == 0 else "Error"),
        "startedAt": stamp(st.started_at, now),
        "finishedAt": stamp(st.finished_at, now),
        "containerID": f"containerd://{slot.container_id}",
        **({"message": st.message} if st.message else {}),
    }


def restart_wanted(policy: str, exit_code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def container_status(slot: Slot) -> dict[str, Any]:
    image = slot.spec.get("image", "")
    out: dict[str, Any] = {
        "name": slot.name,
        "image": normalise(image) if image else "",
        "imageID": slot.image_id,
        "restartCount": slot.restart_count,
        "ready": False,
        "started": False,
    }
    if slot.container_id:
        out["containerID"] = f"containerd://{slot.container_id}"
    if slot.waiting is not None:
        reason, message = slot.waiting
        out["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
    elif slot.terminated is not None:
        out["state"] = {"terminated": slot.terminated}
    else:
        probed = slot.probed_id == slot.container_id
        ready, started = (slot.ready, slot.started) if probed else (not _probed(slot.spec), True)
        if slot.running_since:
            out.update(ready=ready, started=started, state={"running": {"startedAt": slot.running_since}})
        else:  # (re)started but not yet seen running: never a running state without its time
            out["state"] = {"waiting": {"reason": "ContainerCreating"}}
    out["lastState"] = {"terminated": slot.last_terminated} if slot.last_terminated else {}
    return out


def _probed(spec: dict[str, Any]) -> bool:
    return bool(spec.get("readinessProbe") or spec.get("startupProbe"))


def phase(policy: str, statuses: list[dict[str, Any]]) -> str:
    """kubelet's ``getPhase``: restarting containers count as running."""
    pending = running = failed = succeeded = 0
    for s in statuses:
        state = s["state"]
        if "running" in state or ("waiting" in state and s.get("lastState")):
            running += 1
        elif "waiting" in state:
            pending += 1
        elif state["terminated"].get("exitCode", 1) == 0:
            succeeded += 1
        else:
            failed += 1
    if pending:
        return "Pending"
    if running:
        return "Running"
    if policy == "Always" or (policy == "OnFailure" and failed):
        return "Running"
    return "Failed" if failed else "Succeeded"


def pod_status(
    policy: str, slots: list[Slot], host_ip: str, pod_ip: str, start_time: str, qos: str
) -> dict[str, Any]:
    statuses = [container_status(s) for s in slots]
    ready = bool(statuses) and all(s["ready"] for s in statuses)
    since = max([s.running_since for s in slots if s.running_since] + [start_time])
    status: dict[str, Any] = {
        "phase": phase(policy, statuses),
        "conditions": pod_conditions(start_time, bool(pod_ip), ready, since),
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": start_time,
        "qosClass": qos,
        "containerStatuses": statuses,
    }
    if pod_ip:
        status.update(podIP=pod_ip, podIPs=[{"ip": pod_ip}])
    return status
