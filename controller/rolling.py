"""Rolling existing workloads (upstream spec §3.3) as JSON patches over their pod templates.

``restart``: stamp ``controller.varmor.org/restartedAt`` on the pod template; the workload rolls and
the mutating webhook wires the template and the new pods (it sees the workload UPDATE). ``cleanup``
(policy deleted): also drop the profile annotations and the Localhost ``appArmorProfile`` /
``seccompProfile`` of ``profile``, so new pods run without it; ``unconfined`` opt-outs stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.names import (
    APPARMOR_KUBERNETES,
    APPARMOR_VARMOR,
    BPF_VARMOR,
    RESTARTED_AT,
    SECCOMP_VARMOR,
    UNCONFINED,
)

_PROFILE_KEYS = (APPARMOR_VARMOR, APPARMOR_KUBERNETES, SECCOMP_VARMOR, BPF_VARMOR)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def restart_ops(template: Mapping[str, Any], stamp: str) -> list[dict[str, Any]]:
    """Add the restart annotation (creating the annotation map when the template has none)."""
    annotations = (template.get("metadata") or {}).get("annotations")
    if annotations is None:
        return [{"op": "add", "path": "/spec/template/metadata/annotations", "value": {RESTARTED_AT: stamp}}]
    return [{"op": "add", "path": f"/spec/template/metadata/annotations/{_escape(RESTARTED_AT)}",
             "value": stamp}]


def _ours(value: object, profile: str) -> bool:
    return value != UNCONFINED and value == f"localhost/{profile}"


def cleanup_ops(template: Mapping[str, Any], profile: str) -> list[dict[str, Any]]:
    """Remove what the webhook wrote for ``profile`` from a pod template (no restart stamp)."""
    ops: list[dict[str, Any]] = []
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    for key, value in annotations.items():
        if key.startswith(_PROFILE_KEYS) and _ours(value, profile):
            ops.append({"op": "remove", "path": f"/spec/template/metadata/annotations/{_escape(key)}"})
    for index, container in enumerate((template.get("spec") or {}).get("containers") or []):
        context = container.get("securityContext") or {}
        for field in ("appArmorProfile", "seccompProfile"):
            local = context.get(field) or {}
            if local.get("type") == "Localhost" and local.get("localhostProfile") == profile:
                ops.append({"op": "remove",
                            "path": f"/spec/template/spec/containers/{index}/securityContext/{field}"})
    return ops


def workload_ops(workload: Mapping[str, Any], mode: str, profile: str, stamp: str) -> list[dict[str, Any]]:
    """The JSON patch that rolls one workload (empty when a clean-up finds nothing of ours)."""
    template = (workload.get("spec") or {}).get("template") or {}
    if mode == "cleanup":
        ops = cleanup_ops(template, profile)
        if not ops:
            return []
        return ops + restart_ops(template, stamp)
    return restart_ops(template, stamp)
