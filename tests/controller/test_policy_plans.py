"""The policy controller's decisions as a pure function: observed objects in, a plan out."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from api.names import FINALIZER
from controller.plans import Observed, Options, plan
from controller.profiles import ALWAYS_ALLOW_RULES

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
KEY = ("VarmorClusterPolicy", "", "demo-4")
NAME = "varmor-cluster-varmor-demo-4"
OPTIONS = Options()


def vcpol(duration: int = 3, update: bool = True, **policy: Any) -> dict[str, Any]:
    body = {"enforcer": "AppArmorSeccomp", "mode": "BehaviorModeling",
            "modelingOptions": {"duration": duration}}
    body.update(policy)
    return {"apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorClusterPolicy",
            "metadata": {"name": "demo-4", "uid": "pol-1", "labels": {"team": "a"}},
            "spec": {"target": {"kind": "Deployment", "selector": {"matchLabels": {"app": "demo-4"}}},
                     "policy": body, "updateExistingWorkloads": update}}


def observed(policy: dict[str, Any] | None, profile: dict[str, Any] | None = None,
             model: dict[str, Any] | None = None, now: datetime.datetime = T0, agents: int = 2) -> Observed:
    return Observed(KEY, policy, profile, model, agents, now)


def created_profile(policy: dict[str, Any], **status: Any) -> dict[str, Any]:
    """The ArmorProfile the first plan creates, as the API server would store it."""
    profile = copy.deepcopy(plan(observed(policy), OPTIONS).create_profile)
    assert profile is not None
    profile["metadata"].update(uid="ap-1", creationTimestamp="2026-01-01T12:00:00Z")
    profile["status"] = status
    return profile


def with_status(policy: dict[str, Any], status: dict[str, Any] | None) -> dict[str, Any]:
    assert status is not None
    return {**policy, "status": status}


def test_a_new_policy_gets_an_owned_protected_modeling_profile_and_rolls_its_workloads() -> None:
    steps = plan(observed(vcpol()), OPTIONS)
    profile = steps.create_profile
    assert profile is not None
    assert profile["metadata"]["name"] == NAME and profile["metadata"]["namespace"] == "varmor"
    assert profile["metadata"]["ownerReferences"] == [{
        "apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorClusterPolicy", "name": "demo-4",
        "uid": "pol-1", "controller": True, "blockOwnerDeletion": True}]
    assert profile["metadata"]["finalizers"] == [FINALIZER]
    assert profile["metadata"]["labels"] == {"team": "a"}
    assert profile["spec"]["behaviorModeling"] == {"enable": True, "duration": 3}
    assert profile["spec"]["profile"]["mode"] == "complain"
    assert '"defaultAction":"SCMP_ACT_LOG"' in profile["spec"]["profile"]["seccompContent"]
    assert profile["spec"]["profile"]["content"].endswith(f"profile {NAME} flags=(attach_disconnected,"
                                                          "mediate_deleted) {\n}\n")
    assert steps.roll == "restart"
    assert steps.status is not None
    assert (steps.status["phase"], steps.status["ready"]) == ("Pending", False)
    assert steps.status["profileName"] == NAME
    assert [(c["type"], c["status"]) for c in steps.status["conditions"]] == [("Created", "True"),
                                                                              ("Ready", "False")]


def test_no_roll_without_update_existing_workloads_or_the_manager_flag() -> None:
    assert plan(observed(vcpol(update=False)), OPTIONS).roll == ""
    assert plan(observed(vcpol()), Options(restart_existing=False)).roll == ""


def test_an_invalid_policy_is_an_error_with_upstreams_message_and_no_profile() -> None:
    policy = vcpol()
    policy["spec"]["policy"].pop("modelingOptions")
    steps = plan(observed(policy), OPTIONS)
    assert steps.create_profile is None and steps.roll == ""
    assert steps.status is not None and steps.status["phase"] == "Error"
    created = steps.status["conditions"][0]
    assert (created["type"], created["status"], created["reason"]) == ("Created", "False", "Forbidden")
    assert created["message"] == ("The modelingOptions field should be set when the policy runs in the "
                                  "BehaviorModeling mode.")
    assert steps.events and steps.events[0][:2] == ("Warning", "Error")


def test_a_zero_duration_is_refused_as_upstreams_controller_does() -> None:
    steps = plan(observed(vcpol(duration=0)), OPTIONS)
    assert steps.create_profile is None
    assert steps.status is not None and steps.status["conditions"][0]["reason"] == "Error"


def test_the_policy_turns_modeling_and_ready_once_every_agent_loaded_the_profile() -> None:
    policy = vcpol()
    profile = created_profile(policy, loadedNodes=["node-1"])
    one = plan(observed(policy, profile, now=T0 + datetime.timedelta(seconds=5)), OPTIONS)
    assert one.status is not None and (one.status["phase"], one.status["ready"]) == ("Pending", False)
    profile["status"]["loadedNodes"] = ["node-1", "node-2"]
    both = plan(observed(with_status(policy, one.status), profile, now=T0 + datetime.timedelta(seconds=6)),
                OPTIONS)
    assert both.status is not None and (both.status["phase"], both.status["ready"]) == ("Modeling", True)
    assert both.profile_spec is None and both.create_profile is None
    assert both.events == (("Normal", "ModelingStarted", "The modeling window is open."),)
    assert both.requeue_after is not None and abs(both.requeue_after - (180 - 6 + 0.2)) < 0.01


def test_an_unchanged_world_writes_nothing() -> None:
    policy = vcpol()
    profile = created_profile(policy, loadedNodes=["node-1", "node-2"])
    first = plan(observed(policy, profile), OPTIONS)
    again = plan(observed(with_status(policy, first.status), profile, now=T0 + datetime.timedelta(seconds=9)),
                 OPTIONS)
    assert again.status is None and again.events == () and again.profile_spec is None


def test_patching_the_duration_to_one_ends_the_window_a_minute_after_the_profile_was_made() -> None:
    policy = vcpol(duration=1)
    profile = created_profile(vcpol(), loadedNodes=["node-1", "node-2"])
    early = plan(observed(policy, profile, now=T0 + datetime.timedelta(seconds=30)), OPTIONS)
    assert early.profile_spec == {**profile["spec"], "behaviorModeling": {"enable": True, "duration": 1}}
    assert early.requeue_after is not None and abs(early.requeue_after - 30.2) < 0.01
    late = plan(observed(policy, profile, now=T0 + datetime.timedelta(seconds=61)), OPTIONS)
    assert late.profile_spec is not None and late.profile_spec["profile"]["mode"] == "enforce"
    assert late.profile_spec["profile"]["seccompContent"] == '{"defaultAction":"SCMP_ACT_ALLOW"}'
    assert all(f"  {rule},\n" in late.profile_spec["profile"]["content"] for rule in ALWAYS_ALLOW_RULES)
    assert late.requeue_after is None


def model(window: str, nodes: list[str], ready: bool = False, error: str = "") -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "False", "reason": "Error", "message": error,
                   "lastTransitionTime": "2026-01-01T12:00:00Z"}] if error else []
    return {"metadata": {"name": NAME, "namespace": "varmor"}, "data": {},
            "reports": {"window": window, "reportedNodes": nodes, "failedNodes": {}},
            "status": {"window": window, "reportedNodes": nodes, "failedNodes": {},
                       "completedNumber": len(nodes), "ready": ready, "conditions": conditions}}


def closed_world(policy: dict[str, Any]) -> dict[str, Any]:
    profile = created_profile(policy, loadedNodes=["node-1", "node-2"])
    steps = plan(observed(policy, profile, now=T0 + datetime.timedelta(minutes=4)), OPTIONS)
    assert steps.profile_spec is not None
    return {**profile, "spec": steps.profile_spec}


def test_the_model_is_finished_only_when_every_agent_reported_in_this_window() -> None:
    policy, later = vcpol(), T0 + datetime.timedelta(minutes=4)
    profile = closed_world(policy)
    assert not plan(observed(policy, profile, model("ap-1", ["node-1"]), later), OPTIONS).complete_model
    assert not plan(observed(policy, profile, model("old-window", ["node-1", "node-2"]), later),
                    OPTIONS).complete_model
    assert plan(observed(policy, profile, model("ap-1", ["node-1", "node-2"]), later), OPTIONS).complete_model


def test_reported_nodes_are_mirrored_into_the_models_status_once_the_reports_are_quiet() -> None:
    policy, later = vcpol(), T0 + datetime.timedelta(minutes=4)
    profile = closed_world(policy)
    stored = model("ap-1", ["node-1"])
    stored["status"] = {"window": "old", "ready": True, "reportedNodes": ["node-9"]}  # a past window's
    stored["reports"]["updated"] = "2026-01-01T12:03:59.500000Z"  # a group of reports 0.5 s ago
    burst = plan(observed(policy, profile, stored, later), OPTIONS)
    assert burst.model_status is None and burst.requeue_after is not None
    assert 0.5 <= burst.requeue_after <= 0.6
    quiet = plan(observed(policy, profile, stored, later + datetime.timedelta(seconds=1)), OPTIONS)
    assert quiet.model_status == {"window": "ap-1", "ready": False, "conditions": [],
                                  "reportedNodes": ["node-1"], "failedNodes": {}, "completedNumber": 1}
    mirrored = {**stored, "status": quiet.model_status}
    again = plan(observed(policy, profile, mirrored, later + datetime.timedelta(seconds=2)), OPTIONS)
    assert again.model_status is None


def test_the_last_report_completes_the_model_with_its_mirror_at_once() -> None:
    policy, later = vcpol(), T0 + datetime.timedelta(minutes=4)
    profile = closed_world(policy)
    stored = model("ap-1", ["node-1", "node-2"])
    stored["status"] = {"window": "ap-1", "ready": False, "reportedNodes": ["node-1"], "completedNumber": 1}
    stored["reports"]["updated"] = "2026-01-01T12:04:00Z"  # just now
    steps = plan(observed(policy, profile, stored, later), OPTIONS)
    assert steps.complete_model
    assert steps.model_status is not None and steps.model_status["reportedNodes"] == ["node-1", "node-2"]
    assert steps.model_status["completedNumber"] == 2


def test_a_finished_model_completes_the_policy_and_a_failed_render_is_an_error() -> None:
    policy, later = vcpol(), T0 + datetime.timedelta(minutes=4)
    profile = closed_world(policy)
    done = plan(observed(policy, profile, model("ap-1", ["node-1", "node-2"], ready=True), later), OPTIONS)
    assert not done.complete_model
    assert done.status is not None and done.status["phase"] == "Completed"
    assert ("Normal", "ModelingCompleted", "Every agent reported; the profiles are ready.") in done.events
    failed = plan(observed(policy, profile, model("ap-1", ["node-1", "node-2"], error="bad name"), later),
                  OPTIONS)
    assert not failed.complete_model
    assert failed.status is not None and failed.status["phase"] == "Error"
    ready = next(c for c in failed.status["conditions"] if c["type"] == "Ready")
    assert (ready["reason"], ready["message"]) == ("Error", "bad name")


def test_a_deleted_policy_cleans_up_its_workloads_and_releases_the_profile() -> None:
    profile = created_profile(vcpol())
    steps = plan(observed(None, profile), OPTIONS)
    assert steps.release_profile and steps.roll == "cleanup"
    assert steps.roll_target == {"kind": "Deployment", "selector": {"matchLabels": {"app": "demo-4"}}}
    assert steps.status is None and steps.create_profile is None
    released = {**profile, "metadata": {**profile["metadata"], "finalizers": []}}
    assert plan(observed(None, released), OPTIONS) == plan(observed(None, None), OPTIONS)


def test_a_profile_owned_by_an_older_policy_of_that_name_is_released_first() -> None:
    profile = created_profile(vcpol())
    profile["metadata"]["ownerReferences"][0]["uid"] = "older"
    steps = plan(observed(vcpol(), profile), OPTIONS)
    assert steps.release_profile and steps.create_profile is None and steps.requeue_after


def test_changing_the_target_of_a_running_policy_is_forbidden() -> None:
    policy = vcpol()
    profile = created_profile(policy)
    changed = copy.deepcopy(policy)
    changed["spec"]["target"]["selector"] = {"matchLabels": {"app": "other"}}
    steps = plan(observed(changed, profile), OPTIONS)
    assert steps.status is not None and steps.status["phase"] == "Error"
    updated = next(c for c in steps.status["conditions"] if c["type"] == "Updated")
    assert (updated["status"], updated["reason"]) == ("False", "Forbidden")
    assert steps.profile_spec is None


def test_an_agent_failure_is_an_error_with_the_node_named() -> None:
    policy = vcpol()
    profile = created_profile(policy, loadedNodes=["node-1"], failedNodes={"node-2": "parser failed"})
    steps = plan(observed(policy, profile), OPTIONS)
    assert steps.status is not None and (steps.status["phase"], steps.status["ready"]) == ("Error", False)
    ready = next(c for c in steps.status["conditions"] if c["type"] == "Ready")
    assert "node-2" in ready["message"] and "parser failed" in ready["message"]
