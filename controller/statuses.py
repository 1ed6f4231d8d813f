"""The policy's status (upstream spec §1.2) from a verdict: phase, ready, profile name, conditions.

``policy_status`` returns None when nothing would change, so the reconciler skips the write and a
status-only change never loops. A DefenseInDepth policy with ``allowViolations`` whose model holds
violations (``status.violations``) also gets the condition ``Violations`` with their summary.
``lastTransitionTime`` moves only when a condition's status does.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api import conditions as c
from api.types import PolicyView, mapping

VIOLATIONS = "Violations"  # ours: a DefenseInDepth profile with allowViolations logged what it would deny
REASON_ALLOWED = "AllowedViolations"


@dataclass(frozen=True)
class Verdict:
    phase: str
    ready: bool
    event: str | None = None  # the Created or Updated condition to set; None leaves them
    reason: str = ""  # "" accepted; Forbidden or Error: that condition is False with ``message``
    message: str = ""
    failure: str = ""  # an error after acceptance: Ready False, reason Error, this message
    violations: str = ""  # allowed violations of an enforcing profile: condition Violations True


def _conditions(current: Any, verdict: Verdict, now: datetime.datetime) -> list[dict[str, Any]]:
    conditions: list[dict[str, Any]] = list(current) if isinstance(current, list) else []
    accepted = verdict.reason == ""
    if verdict.event:
        conditions = c.set_condition(conditions, c.condition(
            verdict.event, c.TRUE if accepted else c.FALSE, now, verdict.reason, verdict.message))
    elif accepted:  # a policy that was refused and is now accepted
        for kind in (c.CREATED, c.UPDATED):
            found = c.find(conditions, kind)
            if found is not None and found.get("status") == c.FALSE:
                conditions = c.set_condition(conditions, c.condition(kind, c.TRUE, now))
    if not accepted:
        return conditions
    if verdict.failure:
        ready = c.condition(c.READY, c.FALSE, now, c.REASON_ERROR, verdict.failure)
    elif verdict.ready:
        ready = c.condition(c.READY, c.TRUE, now, c.REASON_ALL_AGENTS_READY)
    else:
        ready = c.condition(c.READY, c.FALSE, now, c.REASON_PROCESSING)
    conditions = c.set_condition(conditions, ready)
    if verdict.violations:
        conditions = c.set_condition(conditions, c.condition(VIOLATIONS, c.TRUE, now, REASON_ALLOWED,
                                                             verdict.violations))
    return conditions


def policy_status(
    policy: Mapping[str, Any], view: PolicyView, verdict: Verdict, now: datetime.datetime,
    install_namespace: str,
) -> dict[str, Any] | None:
    """The new ``status`` of ``policy``, or None when it already says this."""
    current = mapping(policy.get("status"))
    status: dict[str, Any] = {
        "profileName": view.profile_name(install_namespace),
        "ready": verdict.ready,
        "phase": verdict.phase,
        "conditions": _conditions(current.get("conditions"), verdict, now),
    }
    same = (all(current.get(k) == status[k] for k in ("profileName", "ready", "phase"))
            and c.same_ignoring_time(current.get("conditions"), status["conditions"]))
    return None if same else status
