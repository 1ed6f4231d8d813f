"""Pod ``status`` dicts as a kubelet would report them, computed from the node's records.

Pure: ``pod_status`` takes the ``PodRecord`` and, per container, what was observed (its exit record,
whether its init still lives) and returns ``phase``, ``conditions``, ``containerStatuses``, IPs and
``qosClass``. Readiness probes are not run: a running container is ready. Without restarts, a pod
whose containers all exited is ``Succeeded``/``Failed`` under ``restartPolicy: Never``,
``Succeeded`` under ``OnFailure`` when all exited 0, and otherwise stays ``Running`` (not ready).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from localcluster.node.records import ContainerRecord, ExitRecord, PodRecord
from localcluster.runtime.images import normalise

EPOCH = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class Observed:
    """What the node saw of one container just now."""

    record: ContainerRecord
    exit: ExitRecord | None
    alive: bool


def image_id(image: str) -> str:
    """A stable stand-in for the image digest (images are never pulled)."""
    repo = normalise(image).split("@")[0].rsplit(":", 1)[0]
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def container_status(seen: Observed) -> dict[str, Any]:
    """One ``containerStatuses`` entry."""
    rec = seen.record
    status: dict[str, Any] = {
        "name": rec["name"],
        "image": normalise(rec["image"]),
        "imageID": image_id(rec["image"]),
        "restartCount": rec["restartCount"],
        "ready": False,
        "started": False,
    }
    error = rec.get("error")
    if error and "exitCode" not in error:
        status["imageID"] = ""
        status["state"] = {"waiting": {"reason": error["reason"], "message": error["message"]}}
        return status
    status["containerID"] = f"containerd://{rec['id']}"
    if error:
        failed = ExitRecord(
            exitCode=error["exitCode"], signal=0, reason=error["reason"], finishedAt=rec["startedAt"]
        )
        status["state"] = {
            "terminated": {**_terminated(rec, failed), "startedAt": EPOCH, "message": error["message"]}
        }
    elif seen.exit is not None:
        status["state"] = {"terminated": _terminated(rec, seen.exit)}
    elif seen.alive:
        status.update(ready=True, started=True, state={"running": {"startedAt": rec["startedAt"]}})
    else:
        lost = ExitRecord(
            exitCode=137, signal=0, reason="ContainerStatusUnknown", finishedAt=rec["startedAt"]
        )
        status["state"] = {"terminated": _terminated(rec, lost)}
    return status


def _terminated(rec: ContainerRecord, end: ExitRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "exitCode": end["exitCode"],
        "reason": end["reason"],
        "startedAt": rec["startedAt"],
        "finishedAt": end["finishedAt"],
        "containerID": f"containerd://{rec['id']}",
    }
    if end["signal"]:
        out["signal"] = end["signal"]
    return out


def phase(restart_policy: str, statuses: list[dict[str, Any]]) -> str:
    """The pod phase from its container states and restart policy."""
    states = [s["state"] for s in statuses]
    if any("waiting" in s for s in states):
        return "Pending"
    if not states or not all("terminated" in s for s in states):
        return "Running"
    all_zero = all(s["terminated"]["exitCode"] == 0 for s in states)
    if restart_policy == "Never":
        return "Succeeded" if all_zero else "Failed"
    if restart_policy == "OnFailure" and all_zero:
        return "Succeeded"
    return "Running"


def pod_status(pod: PodRecord, seen: list[Observed]) -> dict[str, Any]:
    """The whole pod ``status``."""
    statuses = [container_status(s) for s in seen]
    ready = bool(statuses) and all(s["ready"] for s in statuses)
    ready_at = max(
        [s["state"].get("running", {}).get("startedAt", pod["startTime"]) for s in statuses]
        + [s["state"].get("terminated", {}).get("finishedAt", pod["startTime"]) for s in statuses]
        + [pod["startTime"]]
    )
    started = pod["startTime"]
    ip = pod["hostIP"]
    return {
        "phase": phase(pod["restartPolicy"], statuses),
        "conditions": pod_conditions(started, True, ready, ready_at),
        "hostIP": ip,
        "hostIPs": [{"ip": ip}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": started,
        "qosClass": pod["qos"],
        "containerStatuses": statuses,
    }


def pod_conditions(started: str, sandbox_ready: bool, ready: bool, ready_since: str) -> list[dict[str, Any]]:
    """The five conditions kubelet reports for a pod, in its order."""
    return [
        condition("PodReadyToStartContainers", sandbox_ready, started),
        condition("Initialized", True, started),
        condition("Ready", ready, ready_since),
        condition("ContainersReady", ready, ready_since),
        condition("PodScheduled", True, started),
    ]


def condition(kind: str, ok: bool, when: str) -> dict[str, Any]:
    cond: dict[str, Any] = {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": when,
    }
    if not ok:
        cond["reason"] = "ContainersNotReady" if kind in ("Ready", "ContainersReady") else "PodFailed"
    return cond
