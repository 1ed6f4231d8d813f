"""Deployment rollouts as pure plans: which ReplicaSet is new, and how many replicas each should have.

``same_template`` finds the new ReplicaSet by comparing pod templates without the
``pod-template-hash`` label (so ``rollout undo`` re-uses the old ReplicaSet instead of making a
duplicate). ``plan`` is one step of the RollingUpdate algorithm of kube-controller-manager: scale the
new ReplicaSet up while the total stays within ``replicas + maxSurge``, scale old ones down (oldest
first) while at least ``replicas - maxUnavailable`` pods stay available; ``Recreate`` scales the old
ones to zero and the new one up only when no old pod is left.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def normalized_template(template: Obj) -> Obj:
    """A pod template without its hash label and null fields, for comparison and hashing."""
    out = copy.deepcopy(template or {})
    labels = (out.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    result: Obj = _clean(out)
    return result


def same_template(rs: Obj, dep: Obj) -> bool:
    rs_template = normalized_template(rs.get("spec", {}).get("template", {}))
    return rs_template == normalized_template(dep.get("spec", {}).get("template", {}))


def revision(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def resolve(value: Any, total: int, round_up: bool) -> int:
    """An IntOrString like ``25%`` or ``1`` against ``total`` replicas."""
    if isinstance(value, str) and value.endswith("%"):
        try:
            share = total * int(value[:-1]) / 100
        except ValueError:
            return 0
        return math.ceil(share) if round_up else math.floor(share)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def limits(dep: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) of a RollingUpdate Deployment; both 0 is read as 0 and 1."""
    spec = dep.get("spec", {})
    replicas = spec.get("replicas", 1)
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = resolve(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = resolve(rolling.get("maxUnavailable", "25%"), replicas, False)
    return surge, (1 if surge == 0 and unavailable == 0 else unavailable)


@dataclass(frozen=True)
class ReplicaSetState:
    name: str
    replicas: int  # spec.replicas
    available: int  # ready pods that are not terminating
    pods: int  # pods not terminating
    revision: int


def plan(dep: Obj, new: ReplicaSetState, old: list[ReplicaSetState], terminating: int) -> dict[str, int]:
    """The replicas each ReplicaSet should have after this step (only those that change)."""
    spec = dep.get("spec", {})
    replicas = spec.get("replicas", 1)
    if (spec.get("strategy") or {}).get("type") == "Recreate":
        out: dict[str, int] = {rs.name: 0 for rs in old if rs.replicas}
        if not any(rs.pods for rs in old) and not terminating and new.replicas != replicas:
            out[new.name] = replicas
        return out
    surge, unavailable = limits(dep)
    out = {}
    total = new.replicas + sum(rs.replicas for rs in old)
    if new.replicas > replicas:
        out[new.name] = replicas
    elif new.replicas < replicas:
        room = max(0, replicas + surge - total)
        if room:
            out[new.name] = min(replicas, new.replicas + room)
    if not old:
        return out
    available = new.available + sum(rs.available for rs in old)
    removable = max(0, available - (replicas - unavailable))
    for rs in sorted(old, key=lambda r: r.revision):
        unhealthy = max(0, rs.replicas - rs.available)
        cut = min(rs.replicas, unhealthy + removable)
        removable -= max(0, cut - unhealthy)
        if cut:
            out[rs.name] = rs.replicas - cut
    return out
