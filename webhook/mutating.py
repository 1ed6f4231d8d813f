"""Mutation as a pure function of (review, policies): wire AppArmor, seccomp and BPF profiles.

Upstream spec §2.2 (matching) and §2.3 (patch content). The object is deep-copied, changed by small
named mutators that read the *original* object (as upstream's string builder does) and write the
copy, and the patch is ``jsonpatch.JsonPatch.from_diff(original, copy)``. Upstream emits a patch as
soon as any operation is produced, including creating a missing annotation map; then it also stamps
``webhook.varmor.org/mutatedAt`` on the object itself. Objects whose shape a typed decoder would
reject (``ShapeError``) are left alone, as upstream skips objects it cannot decode.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonpatch

from api.conditions import rfc3339
from api.names import (
    APPARMOR_KUBERNETES,
    APPARMOR_VARMOR,
    BPF_VARMOR,
    DEFAULT_INSTALL_NAMESPACE,
    MUTATED_AT,
    SECCOMP_VARMOR,
    TARGET_KINDS,
    UNCONFINED,
)
from api.selectors import SelectorError, matches
from api.types import APPARMOR, BPF, SECCOMP, PolicyView, ordered_views
from webhook.reviews import AdmissionRequest, AdmissionResponse, allow

__all__ = ["MUTATED_AT", "MutationOptions", "Wiring", "mutate_object", "mutate_request", "rfc3339", "wire"]


class ShapeError(ValueError):
    """A field has a type the Kubernetes API would never send; the object is left alone."""


@dataclass(frozen=True)
class MutationOptions:
    """Manager-wide settings that shape the patch."""

    install_namespace: str = DEFAULT_INSTALL_NAMESPACE
    apparmor_ga: bool = True  # Kubernetes >= 1.30: securityContext.appArmorProfile
    bpf_exclusive_mode: bool = False


@dataclass(frozen=True)
class Wiring:
    """What to write into the pod (template): one policy's profile for some containers."""

    profile: str
    enforcer: int
    mode: str
    containers: tuple[str, ...]
    apparmor_ga: bool = True
    bpf_exclusive_mode: bool = False


@dataclass
class _Pod:
    """The pod (template) being wired: originals to read, the copy to write."""

    old_annotations: Mapping[str, Any]
    annotations: dict[str, Any]
    old_spec: Mapping[str, Any]
    old_containers: list[Mapping[str, Any]]
    containers: list[dict[str, Any]]
    touched: bool


def _peek(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ShapeError(f"{key} must be an object")
    return value


def _child(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    if not isinstance(value, dict):
        raise ShapeError(f"{key} must be an object")
    return value


def _string_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if not all(isinstance(v, str) for v in value.values()):
        raise ShapeError("annotations and labels must map strings to strings")
    return value


def _containers(spec: Mapping[str, Any]) -> list[Any]:
    containers = spec.get("containers") or []
    if not isinstance(containers, list):
        raise ShapeError("containers must be a list")
    for container in containers:
        if not isinstance(container, dict) or not isinstance(container.get("name", ""), str):
            raise ShapeError("every container must be an object with a string name")
    return containers


def _pod_of(old: Mapping[str, Any], new: dict[str, Any], kind: str) -> _Pod:
    touched = _peek(old, "metadata").get("annotations") is None
    _string_map(_child(_child(new, "metadata"), "annotations"))
    old_pod: Mapping[str, Any] = old
    new_pod = new
    if kind != "Pod":
        old_pod, new_pod = _peek(_peek(old, "spec"), "template"), _child(_child(new, "spec"), "template")
        touched = touched or _peek(old_pod, "metadata").get("annotations") is None
    old_annotations = _string_map(_peek(_peek(old_pod, "metadata"), "annotations"))
    annotations = _child(_child(new_pod, "metadata"), "annotations")
    old_spec = _peek(old_pod, "spec")
    containers = _containers(_child(new_pod, "spec"))
    return _Pod(old_annotations, annotations, old_spec, _containers(old_spec), containers, touched)


def _profile_type(security_context: Mapping[str, Any], field: str) -> object:
    return _peek(security_context, field).get("type")


def _wire_bpf(pod: _Pod, index: int, name: str, wiring: Wiring) -> None:
    if pod.old_annotations.get(BPF_VARMOR + name) == UNCONFINED:
        return
    pod.annotations[BPF_VARMOR + name] = f"localhost/{wiring.profile}"
    pod.touched = True
    if not wiring.bpf_exclusive_mode:
        return
    if wiring.apparmor_ga:
        _child(pod.containers[index], "securityContext")["appArmorProfile"] = {"type": "Unconfined"}
    else:
        pod.annotations[APPARMOR_KUBERNETES + name] = UNCONFINED


def _wire_apparmor(pod: _Pod, index: int, name: str, wiring: Wiring) -> None:
    if pod.old_annotations.get(APPARMOR_VARMOR + name) == UNCONFINED:
        return
    value = f"localhost/{wiring.profile}"
    if not wiring.apparmor_ga:
        if pod.old_annotations.get(APPARMOR_KUBERNETES + name) != UNCONFINED:
            pod.annotations[APPARMOR_KUBERNETES + name] = value
            pod.touched = True
        return
    container_context = _peek(pod.old_containers[index], "securityContext")
    pod_context = _peek(pod.old_spec, "securityContext")
    if "Unconfined" in (_profile_type(container_context, "appArmorProfile"),
                        _profile_type(pod_context, "appArmorProfile")):
        return
    pod.annotations[APPARMOR_VARMOR + name] = value
    profile = {"type": "Localhost", "localhostProfile": wiring.profile}
    _child(pod.containers[index], "securityContext")["appArmorProfile"] = profile
    pod.touched = True


def _wire_seccomp(pod: _Pod, index: int, name: str, wiring: Wiring) -> None:
    if pod.old_annotations.get(SECCOMP_VARMOR + name) == UNCONFINED:
        return
    container_context = _peek(pod.old_containers[index], "securityContext")
    pod_context = _peek(pod.old_spec, "securityContext")
    if container_context.get("privileged") is True or "Unconfined" in (
        _profile_type(container_context, "seccompProfile"), _profile_type(pod_context, "seccompProfile")
    ):
        return
    pod.annotations[SECCOMP_VARMOR + name] = f"localhost/{wiring.profile}"
    profile: dict[str, str] = {"type": "RuntimeDefault"}
    if wiring.mode != "RuntimeDefault":
        profile = {"type": "Localhost", "localhostProfile": wiring.profile}
    _child(pod.containers[index], "securityContext")["seccompProfile"] = profile
    pod.touched = True


def wire(obj: Mapping[str, Any], kind: str, wiring: Wiring, now: datetime.datetime) -> dict[str, Any] | None:
    """The wired copy of a workload or Pod, or None when upstream would produce no operation."""
    new = copy.deepcopy(dict(obj))
    pod = _pod_of(obj, new, kind)
    for index, container in enumerate(pod.old_containers):
        name = container.get("name", "")
        if wiring.containers and name not in wiring.containers:
            continue
        if wiring.enforcer & BPF:
            _wire_bpf(pod, index, name, wiring)
        if wiring.enforcer & APPARMOR:
            _wire_apparmor(pod, index, name, wiring)
        if wiring.enforcer & SECCOMP:
            _wire_seccomp(pod, index, name, wiring)
    if not pod.touched:
        return None
    new["metadata"]["annotations"][MUTATED_AT] = rfc3339(now)
    return new


def _selects(policy: PolicyView, namespace: str, kind: str, obj: Mapping[str, Any]) -> bool:
    if (not policy.cluster_scoped and policy.namespace != namespace) or policy.target.get("kind") != kind:
        return False
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = policy.target.get("name")
    if isinstance(name, str) and name and name == meta.get("name"):
        return True
    selector, labels = policy.target.get("selector"), meta.get("labels") or {}
    if selector is None or not isinstance(labels, Mapping):
        return False
    try:
        return matches(selector, _string_map(labels))
    except (SelectorError, ShapeError):
        return False


def _target_containers(target: Mapping[str, Any]) -> tuple[str, ...]:
    containers = target.get("containers")
    if not isinstance(containers, list):
        return ()
    return tuple(c for c in containers if isinstance(c, str))


def plan(
    kind: str, namespace: str, obj: Mapping[str, Any], policies: Sequence[Mapping[str, Any]],
    options: MutationOptions,
) -> Wiring | None:
    """The wiring of the first policy that selects the object (cluster policies first), if any."""
    if kind not in TARGET_KINDS:
        return None
    for policy in ordered_views(policies):
        if _selects(policy, namespace, kind, obj):
            return Wiring(policy.profile_name(options.install_namespace), policy.enforcer, policy.mode,
                          _target_containers(policy.target), options.apparmor_ga, options.bpf_exclusive_mode)
    return None


def mutate_object(
    kind: str, namespace: str, obj: Mapping[str, Any], policies: Sequence[Mapping[str, Any]],
    options: MutationOptions, now: datetime.datetime,
) -> dict[str, Any] | None:
    """The mutated object, or None when no policy applies or nothing would be written."""
    wiring = plan(kind, namespace, obj, policies, options)
    if wiring is None:
        return None
    try:
        return wire(obj, kind, wiring, now)
    except ShapeError:
        return None


def mutate_request(
    request: AdmissionRequest, policies: Sequence[Mapping[str, Any]], options: MutationOptions,
    now: datetime.datetime,
) -> AdmissionResponse:
    """The admission response for one request: allowed, with a JSONPatch when something changes."""
    obj = request.get("object")
    if not isinstance(obj, dict):
        return allow(request["uid"])
    namespace = request.get("namespace") or ""
    new = mutate_object(request["kind"]["kind"], namespace, obj, policies, options, now)
    if new is None:
        return allow(request["uid"])
    return allow(request["uid"], jsonpatch.JsonPatch.from_diff(obj, new).patch)
