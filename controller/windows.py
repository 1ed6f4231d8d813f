"""The modeling window and the model's progress, read from ArmorProfile and ArmorProfileModel objects.

The window opens at the ArmorProfile's ``creationTimestamp`` and closes ``duration`` minutes later
(upstream spec §3.4); patching the duration to 1 closes it as soon as a minute has passed since the
ArmorProfile was made. A model's reported nodes belong to a window through ``reports.window``, its
completion through ``status.window`` (both the ArmorProfile's uid): reports from an older window do
not count toward a new one. ``reports_status`` is the status that mirrors the window's reports for
users. Pure functions over dicts.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from api.conditions import FALSE, READY, REASON_ERROR, find
from api.types import mapping

REPORTS_QUIET = datetime.timedelta(seconds=1)  # a burst of reports is mirrored into the status after it


def parse_time(text: object) -> datetime.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def window_end(profile: Mapping[str, Any]) -> datetime.datetime | None:
    """When the profile's modeling window closes, or None without a creation time."""
    created = parse_time(mapping(profile.get("metadata")).get("creationTimestamp"))
    duration = mapping(mapping(profile.get("spec")).get("behaviorModeling")).get("duration")
    if created is None or not isinstance(duration, int):
        return None
    return created + datetime.timedelta(minutes=duration)


def window_closed(profile: Mapping[str, Any], now: datetime.datetime, duration: int | None = None) -> bool:
    """Whether ``now`` is past the window (``duration`` overrides the profile's, e.g. a patched policy)."""
    created = parse_time(mapping(profile.get("metadata")).get("creationTimestamp"))
    if duration is None:
        end = window_end(profile)
    else:
        end = None if created is None else created + datetime.timedelta(minutes=duration)
    return end is not None and now >= end


def window_id(profile: Mapping[str, Any]) -> str:
    return str(mapping(profile.get("metadata")).get("uid") or "")


def model_status(model: Mapping[str, Any] | None, profile: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model's status for this profile's window (empty when the model belongs to another)."""
    status = mapping((model or {}).get("status"))
    return status if status.get("window") == window_id(profile) and window_id(profile) else {}


def window_reports(model: Mapping[str, Any] | None, profile: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model's ``reports`` for this profile's window (empty when they belong to another)."""
    record = mapping((model or {}).get("reports"))
    return record if record.get("window") == window_id(profile) and window_id(profile) else {}


def reported_nodes(model: Mapping[str, Any] | None, profile: Mapping[str, Any]) -> list[str]:
    nodes = window_reports(model, profile).get("reportedNodes")
    return [n for n in nodes if isinstance(n, str)] if isinstance(nodes, list) else []


def reports_settled(model: Mapping[str, Any] | None, profile: Mapping[str, Any]) -> datetime.datetime | None:
    """When this window's reports will have been quiet for ``REPORTS_QUIET``: the time from which
    their mirror in the status may be written without racing the next group of reports (None: no
    time recorded)."""
    updated = parse_time(window_reports(model, profile).get("updated"))
    return None if updated is None else updated + REPORTS_QUIET


def reports_status(model: Mapping[str, Any] | None, profile: Mapping[str, Any]) -> dict[str, Any] | None:
    """The model's status showing this window's reported and failed nodes, or None when it already
    does (or nothing was reported in this window)."""
    record = window_reports(model, profile)
    if not record:
        return None
    status = dict(model_status(model, profile)) or {"window": window_id(profile), "ready": False,
                                                    "conditions": []}
    nodes = reported_nodes(model, profile)
    failed = mapping(record.get("failedNodes"))
    shown = {"reportedNodes": nodes, "failedNodes": dict(failed), "completedNumber": len(nodes)}
    if all(status.get(key) == value for key, value in shown.items()):
        return None
    return {**status, **shown}


def model_ready(model: Mapping[str, Any] | None, profile: Mapping[str, Any]) -> bool:
    return model_status(model, profile).get("ready") is True


def model_error(model: Mapping[str, Any] | None, profile: Mapping[str, Any]) -> str | None:
    """The render or check error stored on the model for this window, if any."""
    found = find(model_status(model, profile).get("conditions"), READY)
    if found and found.get("status") == FALSE and found.get("reason") == REASON_ERROR:
        return str(found.get("message") or "the profiles could not be rendered")
    return None


def loaded_nodes(profile: Mapping[str, Any]) -> list[str]:
    """Nodes whose agent reported the profile loaded (``POST /apis/v1/status`` succeeded)."""
    nodes = mapping(profile.get("status")).get("loadedNodes")
    return [n for n in nodes if isinstance(n, str)] if isinstance(nodes, list) else []


def failed_nodes(profile: Mapping[str, Any]) -> dict[str, str]:
    failed = mapping(profile.get("status")).get("failedNodes")
    return {str(k): str(v) for k, v in failed.items()} if isinstance(failed, Mapping) else {}
