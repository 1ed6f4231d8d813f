"""What the policy controller should do, as a pure function: observed state in, a ``Plan`` out.

``plan(observed)`` reads one policy, its ArmorProfile and its ArmorProfileModel (any may be
absent) and decides, level-based: create or rewrite the ArmorProfile, roll or clean up workloads,
finish the model, release the ArmorProfile of a deleted policy, the policy's status and Events, and
when to look again. The reconciler (``controller.reconciling``) applies the plan. Upstream spec
§3.2–§3.5, §3.9; the issue's rules win where they differ (no in-memory truth, idempotent).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from api import conditions as c
from api.names import FINALIZER
from api.types import PolicyView, mapping, view
from api.validation import ValidationOptions, modeling_duration_error, validate_create, validate_update
from controller import windows
from controller.profiles import armor_profile, armor_profile_spec
from controller.statuses import Verdict, policy_status
from generator.enforcing import EnforcingProfile, ModelError, enforcing_profile

PolicyKey = tuple[str, str, str]  # (kind, namespace, name); namespace "" for cluster policies
Roll = Literal["", "restart", "cleanup"]
MODEL_RETRY = 30.0  # a policy waiting for its model looks again (the model's own events come first)


@dataclass(frozen=True)
class Options:
    install_namespace: str = "varmor"
    behavior_modeling_enabled: bool = True
    restart_existing: bool = True


@dataclass(frozen=True)
class Observed:
    key: PolicyKey
    policy: Mapping[str, Any] | None
    profile: Mapping[str, Any] | None
    model: Mapping[str, Any] | None
    desired_agents: int
    now: datetime.datetime


@dataclass(frozen=True)
class Plan:
    create_profile: dict[str, Any] | None = None
    profile_spec: dict[str, Any] | None = None  # replace the ArmorProfile's spec (and reset its status)
    release_profile: bool = False  # remove our finalizer (deleted policy, or a profile owned by another)
    roll: Roll = ""
    roll_target: Mapping[str, Any] = field(default_factory=dict)
    complete_model: bool = False
    model_status: dict[str, Any] | None = None  # the model's status showing its window's reports
    status: dict[str, Any] | None = None
    events: tuple[tuple[str, str, str], ...] = ()
    requeue_after: float | None = None


def _owned(profile: Mapping[str, Any] | None, policy: PolicyView) -> bool:
    refs = mapping(profile).get("metadata", {}).get("ownerReferences") if profile else None
    return bool(refs) and isinstance(refs, list) and len(refs) == 1 and refs[0].get("uid") == policy.uid


def _has_finalizer(profile: Mapping[str, Any] | None) -> bool:
    return FINALIZER in (mapping(mapping(profile).get("metadata")).get("finalizers") or [])


def plan_deleted(observed: Observed, options: Options) -> Plan:
    """The policy is gone: clean up rolled workloads (if it rolled them) and release the ArmorProfile."""
    profile = observed.profile
    if profile is None or not _has_finalizer(profile):
        return Plan()
    spec = mapping(profile.get("spec"))
    cleanup = options.restart_existing and spec.get("updateExistingWorkloads") is True
    return Plan(release_profile=True, roll="cleanup" if cleanup else "",
                roll_target=mapping(spec.get("target")))


def _old_policy(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The policy as its ArmorProfile remembers it, for the update rules (upstream's old target/enforcer)."""
    spec = mapping(profile.get("spec"))
    return {"spec": {"target": spec.get("target"),
                     "policy": {"enforcer": mapping(spec.get("profile")).get("enforcer", "")}}}


def _validate(observed: Observed, options: Options, owned: bool) -> str | None:
    assert observed.policy is not None
    rules = ValidationOptions(options.install_namespace, options.behavior_modeling_enabled)
    if owned and observed.profile is not None:
        message = validate_update(observed.policy, _old_policy(observed.profile), rules)
    else:
        message = validate_create(observed.policy, rules)
    return message


def _error_plan(
    observed: Observed, policy: PolicyView, message: str, reason: str, owned: bool, install_namespace: str
) -> Plan:
    verdict = Verdict(c.ERROR, False, c.UPDATED if owned else c.CREATED, reason, message)
    status = policy_status(observed.policy or {}, policy, verdict, observed.now, install_namespace)
    return Plan(status=status, events=_events(observed.policy or {}, status, message))


def _events(policy: Mapping[str, Any], status: Mapping[str, Any] | None, message: str = "") -> tuple[
        tuple[str, str, str], ...]:
    if status is None:
        return ()
    before = mapping(policy.get("status")).get("phase")
    after = status.get("phase")
    if before == after:
        return ()
    reasons = {c.MODELING: ("Normal", "ModelingStarted", "The modeling window is open."),
               c.COMPLETED: ("Normal", "ModelingCompleted", "Every agent reported; the profiles are ready."),
               c.ERROR: ("Warning", "Error", message or "The policy is in error."),
               c.PROTECTING: ("Normal", "Protecting", "Every agent loaded the profile.")}
    return (reasons[after],) if after in reasons else ()


def plan(observed: Observed, options: Options) -> Plan:
    """The plan for one policy key (see the module docstring)."""
    policy = view(observed.policy) if observed.policy is not None else None
    if observed.policy is None:
        return plan_deleted(observed, options)
    if policy is None:
        fake = PolicyView(observed.key[0], observed.key[1], observed.key[2], {}, 0, "")  # type: ignore[arg-type]
        return _error_plan(observed, fake, "The policy object is malformed: spec.target is missing.",
                           c.REASON_FORBIDDEN, False, options.install_namespace)
    owned = _owned(observed.profile, policy)
    message = _validate(observed, options, owned)
    if message:
        return _error_plan(observed, policy, message, c.REASON_FORBIDDEN, owned, options.install_namespace)
    duration_error = modeling_duration_error(observed.policy)
    if duration_error:
        return _error_plan(observed, policy, duration_error, c.REASON_ERROR, owned, options.install_namespace)
    if observed.profile is not None and not owned:
        return Plan(release_profile=_has_finalizer(observed.profile), requeue_after=1.0)
    try:
        enforcing = _enforcing(observed, policy, options.install_namespace)
    except ModelError as error:
        failed = _error_plan(observed, policy, str(error), c.REASON_ERROR, owned, options.install_namespace)
        return replace(failed, requeue_after=MODEL_RETRY)
    if observed.profile is None:
        return _plan_create(observed, policy, options, enforcing)
    return _plan_existing(observed, policy, options, observed.profile, enforcing)


def _enforcing(observed: Observed, policy: PolicyView, install_namespace: str) -> EnforcingProfile | None:
    """The profiles a DefenseInDepth policy enforces, from its model (§5.5); None in other modes."""
    if policy.mode != "DefenseInDepth":
        return None
    spec_policy = mapping(mapping(mapping(observed.policy).get("spec")).get("policy"))
    return enforcing_profile(observed.model, spec_policy, policy.profile_name(install_namespace),
                             policy.profile_namespace(install_namespace))


def _plan_create(observed: Observed, policy: PolicyView, options: Options,
                 enforcing: EnforcingProfile | None) -> Plan:
    labels = mapping(mapping(observed.policy).get("metadata")).get("labels") or {}
    profile = armor_profile(policy, labels, options.install_namespace, complete=False, enforcing=enforcing)
    verdict = Verdict(c.PENDING, False, c.CREATED)
    status = policy_status(observed.policy or {}, policy, verdict, observed.now, options.install_namespace)
    roll: Roll = "restart" if options.restart_existing and policy.update_existing else ""
    return Plan(create_profile=profile, status=status, roll=roll, roll_target=policy.target,
                events=_events(observed.policy or {}, status), requeue_after=1.0)


def violations_summary(model: Mapping[str, Any] | None, shown: int = 5) -> str:
    """What an allowViolations profile logged, from the model's ``status.violations`` ("" for none)."""
    status = mapping(mapping(model).get("status"))
    items = [mapping(v) for v in status.get("violations") or [] if isinstance(v, Mapping)]
    if not items:
        return ""
    listed = ", ".join(f"{v.get('syscall')} ({v.get('pod')} {v.get('container')} on {v.get('node')})"
                       for v in items[:shown])
    dropped = status.get("violationsDropped")
    total = len(items) + (dropped if isinstance(dropped, int) and dropped > 0 else 0)
    tail = f" and {total - shown} more" if total > shown else ""
    return (f"{total} syscalls outside the profile were allowed and logged: {listed}{tail}; "
            "see the ArmorProfileModel's status.violations")


def _verdict(observed: Observed, policy: PolicyView, profile: Mapping[str, Any]) -> Verdict:
    desired = observed.desired_agents
    failed = windows.failed_nodes(profile)
    ready = not failed and desired > 0 and len(windows.loaded_nodes(profile)) >= desired
    if failed:
        node, text = sorted(failed.items())[0]
        return Verdict(c.ERROR, False, failure=f"The agent on {node} failed: {text}")
    if policy.modeling:
        error = windows.model_error(observed.model, profile)
        if error:
            return Verdict(c.ERROR, False, failure=error)
        if windows.model_ready(observed.model, profile):
            return Verdict(c.COMPLETED, ready)
        return Verdict(c.MODELING if ready else c.PENDING, ready)
    return Verdict(c.PROTECTING if ready else c.PENDING, ready)


def _plan_existing(
    observed: Observed, policy: PolicyView, options: Options, profile: Mapping[str, Any],
    enforcing: EnforcingProfile | None,
) -> Plan:
    name = policy.profile_name(options.install_namespace)
    closed = policy.modeling and windows.window_closed(profile, observed.now, policy.duration)
    desired_spec = armor_profile_spec(policy, name, complete=closed, enforcing=enforcing)
    new_spec = desired_spec if desired_spec != mapping(profile.get("spec")) else None
    reported = len(windows.reported_nodes(observed.model, profile))
    complete_model = (policy.modeling and closed and 0 < observed.desired_agents <= reported
                      and not windows.model_ready(observed.model, profile)
                      and windows.model_error(observed.model, profile) is None)
    verdict = _verdict(observed, policy, profile)
    if enforcing is not None and enforcing.mode == "complain":
        verdict = replace(verdict, violations=violations_summary(observed.model))
    if new_spec is not None and verdict.phase != c.COMPLETED:
        verdict = Verdict(c.PENDING, False, c.UPDATED)
    status = policy_status(observed.policy or {}, policy, verdict, observed.now, options.install_namespace)
    requeue = None
    end = windows.window_end({**profile, "spec": desired_spec})
    if policy.modeling and end is not None and not closed:
        requeue = max((end - observed.now).total_seconds(), 0.0) + 0.2
    model_status = windows.reports_status(observed.model, profile) if policy.modeling else None
    settled = windows.reports_settled(observed.model, profile)
    if model_status is not None and not complete_model and settled is not None and observed.now < settled:
        model_status = None  # mirrored once the reports are quiet: the status write would race them
        wait = (settled - observed.now).total_seconds() + 0.05
        requeue = wait if requeue is None else min(requeue, wait)
    return Plan(profile_spec=new_spec, complete_model=complete_model, model_status=model_status,
                status=status, events=_events(observed.policy or {}, status, verdict.failure),
                requeue_after=requeue)
