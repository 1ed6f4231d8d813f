"""Status phases and conditions of policies, ArmorProfiles and ArmorProfileModels, as pure helpers.

Upstream spec §1.2: at most one condition of each type; a new one replaces the old in place. As in
Kubernetes' ``meta.SetStatusCondition``, ``lastTransitionTime`` changes only when the condition's
``status`` changes (a new reason or message alone keeps the old time). Inputs are never mutated.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from api.types import Condition

Phase = Literal["Pending", "Modeling", "Completed", "Protecting", "Error"]
PENDING: Final = "Pending"
MODELING: Final = "Modeling"
COMPLETED: Final = "Completed"
PROTECTING: Final = "Protecting"
ERROR: Final = "Error"
PHASES: Final[tuple[Phase, ...]] = ("Pending", "Modeling", "Completed", "Protecting", "Error")

ConditionType = Literal["Created", "Updated", "Ready"]
CREATED: Final = "Created"
UPDATED: Final = "Updated"
READY: Final = "Ready"
TRUE: Final = "True"
FALSE: Final = "False"

REASON_FORBIDDEN: Final = "Forbidden"
REASON_ERROR: Final = "Error"
REASON_ALL_AGENTS_READY: Final = "AllAgentsReady"
REASON_PROCESSING: Final = "Processing"


def rfc3339(now: datetime.datetime) -> str:
    """Kubernetes' ``metav1.Time`` text: UTC, whole seconds, ``Z``."""
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    kind: str, status: str, now: datetime.datetime, reason: str = "", message: str = ""
) -> Condition:
    return {"type": kind, "status": status, "lastTransitionTime": rfc3339(now), "reason": reason,
            "message": message}


def find(conditions: Sequence[Mapping[str, Any]] | None, kind: str) -> Mapping[str, Any] | None:
    for item in conditions or ():
        if item.get("type") == kind:
            return item
    return None


def set_condition(conditions: Sequence[Mapping[str, Any]] | None, new: Condition) -> list[dict[str, Any]]:
    """``conditions`` with ``new`` in place of the condition of its type (appended when absent).

    When the type already exists with the same ``status``, its ``lastTransitionTime`` is kept.
    """
    result: list[dict[str, Any]] = []
    placed = False
    for item in conditions or ():
        if item.get("type") != new["type"]:
            result.append(dict(item))
            continue
        updated: dict[str, Any] = dict(new)
        if item.get("status") == new["status"] and item.get("lastTransitionTime"):
            updated["lastTransitionTime"] = item["lastTransitionTime"]
        result.append(updated)
        placed = True
    if not placed:
        result.append(dict(new))
    return result


def is_true(conditions: Sequence[Mapping[str, Any]] | None, kind: str) -> bool:
    found = find(conditions, kind)
    return found is not None and found.get("status") == TRUE


def same_ignoring_time(a: Sequence[Mapping[str, Any]] | None, b: Sequence[Mapping[str, Any]] | None) -> bool:
    """Whether two condition lists say the same thing (a status write can be skipped)."""
    def strip(items: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
        return [{k: v for k, v in i.items() if k != "lastTransitionTime"} for i in items or ()]
    return strip(a) == strip(b)
