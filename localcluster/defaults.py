"""Defaulting a real API server applies before admission, for the fields webhooks read.

Pods (and pod templates of workloads) get ``restartPolicy``, ``dnsPolicy``, ``schedulerName``,
``serviceAccountName``, ``securityContext``, ``terminationGracePeriodSeconds`` and per-container
``imagePullPolicy``, ``terminationMessagePath``/``Policy``. Pure functions that change a copy.
"""

from __future__ import annotations

import copy
from typing import Any

_POD_SPEC_DEFAULTS: dict[str, Any] = {
    "restartPolicy": "Always",
    "dnsPolicy": "ClusterFirst",
    "schedulerName": "default-scheduler",
    "serviceAccountName": "default",
    "serviceAccount": "default",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
    "enableServiceLinks": True,
    "preemptionPolicy": "PreemptLowerPriority",
    "priority": 0,
}
_WORKLOAD_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"}


def _pull_policy(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    tag = name.split(":", 1)[1] if ":" in name and "@" not in name else ""
    return "Always" if "@" not in image and tag in ("", "latest") else "IfNotPresent"


def default_container(container: dict[str, Any]) -> None:
    container.setdefault("imagePullPolicy", _pull_policy(container.get("image", "")))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})


def default_pod_spec(spec: dict[str, Any]) -> None:
    for key, value in _POD_SPEC_DEFAULTS.items():
        spec.setdefault(key, copy.deepcopy(value))
    if spec.get("serviceAccount") != spec["serviceAccountName"]:
        spec["serviceAccount"] = spec["serviceAccountName"]
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            default_container(container)


def default_object(obj: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``obj`` with the built-in defaults applied (only Pods and workloads)."""
    kind = obj.get("kind")
    if kind != "Pod" and kind not in _WORKLOAD_KINDS:
        return obj
    out = copy.deepcopy(obj)
    if kind == "Pod":
        default_pod_spec(out.setdefault("spec", {}))
        return out
    spec = out.setdefault("spec", {})
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        spec.setdefault("replicas", 1)
    default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
    return out
