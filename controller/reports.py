"""What agents send the status service, checked, and how a node's report changes the model (pure).

``ProfileStatus`` (``POST /apis/v1/status``) says whether a node loaded an ArmorProfile;
``BehaviorData`` (``POST /apis/v1/data``) carries a node's recording (upstream spec §3.8, §4.9).
``merge_report`` unions the recording into the ArmorProfileModel with the generator's union and
counts the node once per window (the ArmorProfile's uid) in the model's ``reports``: a node that
reports twice is counted once.
``Violations`` (``POST /apis/v1/violations``, ours) lists syscalls an enforcing profile with
``allowViolations`` would have denied; ``add_violations`` keeps them, once per node, pod, container
and syscall, in the model's ``status.violations`` (at most ``MAX_VIOLATIONS``, the rest counted).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.names import API_VERSION, ARMOR_PROFILE_MODEL, CRD_INTERNAL
from api.types import mapping
from generator.codec import from_data, to_data
from generator.models import BehaviorModel
from generator.union import Union

REQUIRED = ("namespace", "armorProfile", "nodeName", "status")
_MODEL_KEYS = ("dynamicResult", "coverage", "provenance", "execSessionOnly")
VIOLATION_FIELDS = ("pod", "container", "syscall", "exe")
MAX_VIOLATIONS = 200


class BadReport(ValueError):
    """The body is not a usable report; answered 400 with this message."""


@dataclass(frozen=True)
class Report:
    namespace: str
    profile: str
    node: str
    succeeded: bool
    message: str
    model: BehaviorModel | None = None  # BehaviorData only
    violations: tuple[Mapping[str, str], ...] = ()  # Violations only: VIOLATION_FIELDS each


def _header(body: object) -> tuple[str, str, str, bool, str]:
    if not isinstance(body, Mapping):
        raise BadReport("The body must be a JSON object.")
    for field in REQUIRED:
        if not isinstance(body.get(field), str) or not body[field]:
            raise BadReport(f"The field {field} must be a non-empty string.")
    if body["status"] not in ("succeeded", "failed"):
        raise BadReport("The field status must be succeeded or failed.")
    message = body.get("message", "")
    return (body["namespace"], body["armorProfile"], body["nodeName"], body["status"] == "succeeded",
            message if isinstance(message, str) else str(message))


def parse_status(body: object) -> Report:
    return Report(*_header(body))


def parse_data(body: object) -> Report:
    namespace, profile, node, succeeded, message = _header(body)
    assert isinstance(body, Mapping)
    dynamic = body.get("dynamicResult", {})
    if not isinstance(dynamic, Mapping):
        raise BadReport("The field dynamicResult must be an object.")
    for part in ("apparmor", "appArmor", "seccomp", "bpf"):
        if part in dynamic and not isinstance(dynamic[part], Mapping):
            raise BadReport(f"The field dynamicResult.{part} must be an object.")
    try:
        model = from_data({k: body[k] for k in _MODEL_KEYS if k in body})
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BadReport(f"The dynamicResult is malformed: {error!r}.") from None
    return Report(namespace, profile, node, succeeded, message, model)


def parse_violations(body: object) -> Report:
    namespace, profile, node, succeeded, message = _header(body)
    assert isinstance(body, Mapping)
    items = body.get("violations")
    if not isinstance(items, list) or not items or len(items) > MAX_VIOLATIONS:
        raise BadReport(f"The field violations must be a list of 1 to {MAX_VIOLATIONS} objects.")
    for item in items:
        if not isinstance(item, Mapping) or not all(
                isinstance(item.get(f), str) and len(item[f]) <= 4096 for f in VIOLATION_FIELDS):
            raise BadReport(f"Each violation needs the strings {', '.join(VIOLATION_FIELDS)}.")
    kept = tuple({f: str(item[f]) for f in VIOLATION_FIELDS} for item in items)
    return Report(namespace, profile, node, succeeded, message, violations=kept)


def add_violations(model: Mapping[str, Any], report: Report) -> dict[str, Any]:
    """The model's status with the report's violations (idempotent; first ones kept past the cap)."""
    status = dict(mapping(model.get("status")))
    known = [dict(v) for v in status.get("violations") or [] if isinstance(v, Mapping)]
    keys = {tuple(v.get(f) for f in ("node", *VIOLATION_FIELDS[:3])) for v in known}
    dropped = status.get("violationsDropped")
    dropped = dropped if isinstance(dropped, int) and dropped > 0 else 0
    for item in report.violations:
        key = (report.node, *(item[f] for f in VIOLATION_FIELDS[:3]))
        if key in keys:
            continue
        if len(known) >= MAX_VIOLATIONS:
            dropped += 1
            continue
        keys.add(key)
        known.append({"node": report.node, **item})
    status.update(violations=known, violationsDropped=dropped)
    return status


def new_model(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": ARMOR_PROFILE_MODEL,
            "metadata": {"name": name, "namespace": namespace},
            "storageType": CRD_INTERNAL, "data": {}, "status": {"ready": False}}


def _window_record(model: Mapping[str, Any], window: str) -> dict[str, Any]:
    """The model's record of the nodes that reported in ``window`` (a fresh one for another window).

    The record is the object's own top-level ``reports``, not its status: it is written in the same
    request as the data it counts (one write per group of reports), and it cannot be observed again
    from the world, so it is not status in the Kubernetes sense. The controller mirrors it into
    ``status.reportedNodes``, ``failedNodes`` and ``completedNumber`` for users."""
    record = dict(mapping(model.get("reports")))
    if record.get("window") == window:
        return record
    return {"window": window, "reportedNodes": [], "failedNodes": {}}


def union_of(model: Mapping[str, Any] | None) -> Union:
    """The model's data as the generator's union, ready to take more recordings."""
    union, data = Union(), mapping(mapping(model).get("data"))
    if data:
        union.add_model(from_data(data))
    return union


def merge_reports(model: Mapping[str, Any] | None, reports: Sequence[Report], window: str,
                  now: datetime.datetime | None = None, union: Union | None = None) -> dict[str, Any]:
    """The model with every report merged in (one union, not one per report) and each node counted
    once for ``window`` in its ``reports`` (``updated``: ``now``, when given); the same as folding
    ``merge_report`` over ``reports``. ``union``, when given, already holds the model's data (the
    caller kept it from the last merge, which saves reading the model again); it is extended."""
    first = reports[0]
    result = dict(model or new_model(first.namespace, first.profile))
    data = mapping(result.get("data"))
    recordings = [r.model for r in reports if r.model is not None]
    if recordings:
        union = union_of(result) if union is None else union
        for recording in recordings:
            union.add_model(recording)
        result["data"] = {**dict(data), **to_data(union.build())}
    record = _window_record(result, window)
    reported = set(record.get("reportedNodes") or [])
    failed = dict(record.get("failedNodes") or {})
    for report in reports:
        if report.succeeded:
            reported.add(report.node)
        else:
            failed[report.node] = report.message
    result["reports"] = {"window": window, "reportedNodes": sorted(reported), "failedNodes": failed}
    if now is not None:
        result["reports"]["updated"] = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return result


def merge_report(model: Mapping[str, Any] | None, report: Report, window: str) -> dict[str, Any]:
    """The model with ``report`` merged in and its node counted once for ``window``."""
    return merge_reports(model, [report], window)


def load_status(profile: Mapping[str, Any], report: Report) -> dict[str, Any]:
    """The ArmorProfile's status after a node's load report (idempotent per node)."""
    status = dict(mapping(profile.get("status")))
    loaded = [n for n in status.get("loadedNodes") or [] if n != report.node]
    failed = {k: v for k, v in dict(status.get("failedNodes") or {}).items() if k != report.node}
    if report.succeeded:
        loaded.append(report.node)
    else:
        failed[report.node] = report.message
    status.update(loadedNodes=sorted(loaded), failedNodes=failed, currentNumberLoaded=len(loaded))
    return status
