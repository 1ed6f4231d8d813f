"""Matching (spec §2.2): scope, kind, name or selector on the object's own labels, cluster first."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from tests.webhook.helpers import applied, review
from webhook.mutating import MutationOptions, mutate_request
from webhook.reviews import AdmissionResponse, parse_review

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def policy(name: str, target: dict[str, Any], *, namespace: str | None = None,
           enforcer: str = "AppArmorSeccomp") -> dict[str, Any]:
    kind = "VarmorPolicy" if namespace else "VarmorClusterPolicy"
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "crd.varmor.org/v1beta1", "kind": kind, "metadata": meta,
            "spec": {"target": target, "policy": {"enforcer": enforcer, "mode": "BehaviorModeling"}}}


def workload(
    kind: str = "Deployment", name: str = "web", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    pod_spec = {"containers": [{"name": "app", "image": "nginx"}]}
    meta = {"name": name, "namespace": "shop", "labels": labels or {"app": "web"}}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}
    template = {"metadata": {"labels": {"tier": "template-only"}}, "spec": pod_spec}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": {"template": template}}


def respond(obj: dict[str, Any], policies: list[dict[str, Any]], namespace: str = "shop",
            kind: str | None = None) -> AdmissionResponse:
    body = json.dumps(review(obj, kind or obj["kind"], namespace)).encode()
    return mutate_request(parse_review(body), policies, MutationOptions(), NOW)


def profiles(obj: dict[str, Any], response: AdmissionResponse) -> set[str]:
    result = applied(obj, response)
    pod = result if result["kind"] == "Pod" else result["spec"]["template"]
    return {v for k, v in pod["metadata"].get("annotations", {}).items() if k.startswith("container.")}


def test_a_namespaced_policy_matches_only_its_own_namespace() -> None:
    mine = policy("p", {"kind": "Deployment", "name": "web"}, namespace="shop")
    other = policy("p", {"kind": "Deployment", "name": "web"}, namespace="bank")
    assert profiles(workload(), respond(workload(), [mine])) == {"localhost/varmor-shop-p"}
    assert "patch" not in respond(workload(), [other])


def test_a_cluster_policy_wins_over_a_namespaced_one() -> None:
    policies = [policy("ns", {"kind": "Deployment", "name": "web"}, namespace="shop"),
                policy("all", {"kind": "Deployment", "selector": {"matchLabels": {"app": "web"}}})]
    assert profiles(workload(), respond(workload(), policies)) == {"localhost/varmor-cluster-varmor-all"}


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Pod"])
def test_each_supported_kind_is_wired_when_the_target_kind_is_the_same(kind: str) -> None:
    obj = workload(kind)
    assert profiles(obj, respond(obj, [policy("p", {"kind": kind, "name": "web"})]))
    other_kind = "Deployment" if kind == "Pod" else "Pod"
    assert "patch" not in respond(obj, [policy("p", {"kind": other_kind, "name": "web"})])


def test_the_selector_reads_the_objects_own_labels_not_the_template_labels() -> None:
    by_template = policy("p", {"kind": "Deployment", "selector": {"matchLabels": {"tier": "template-only"}}})
    assert "patch" not in respond(workload(), [by_template])


@pytest.mark.parametrize(
    ("expressions", "wired"),
    [
        ([{"key": "app", "operator": "In", "values": ["web", "api"]}], True),
        ([{"key": "app", "operator": "NotIn", "values": ["web"]}], False),
        ([{"key": "app", "operator": "Exists"}], True),
        ([{"key": "app", "operator": "DoesNotExist"}], False),
        ([{"key": "app", "operator": "Sideways", "values": ["web"]}], False),
        ([{"key": "app", "operator": "In", "values": []}], False),
    ],
)
def test_match_expressions_follow_kubernetes_semantics(expressions: list[Any], wired: bool) -> None:
    selected = policy("p", {"kind": "Deployment", "selector": {"matchExpressions": expressions}})
    assert ("patch" in respond(workload(), [selected])) is wired


def test_an_empty_selector_selects_every_workload_of_the_kind() -> None:
    assert "patch" in respond(workload(), [policy("p", {"kind": "Deployment", "selector": {}})])


def test_nothing_is_patched_without_a_matching_policy() -> None:
    response = respond(workload(), [])
    assert response == {"uid": response["uid"], "allowed": True, "status": {"status": "Success"}}


def test_the_target_containers_list_limits_the_wiring() -> None:
    obj = workload()
    obj["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy"})
    selected = policy("p", {"kind": "Deployment", "name": "web", "containers": ["sidecar"]})
    template = applied(obj, respond(obj, [selected]))["spec"]["template"]
    assert "securityContext" not in template["spec"]["containers"][0]
    assert template["spec"]["containers"][1]["securityContext"]["seccompProfile"]["type"] == "Localhost"


def test_an_object_a_typed_decoder_would_reject_is_left_alone() -> None:
    obj = workload()
    obj["spec"]["template"]["spec"]["containers"] = "not a list"
    assert "patch" not in respond(obj, [policy("p", {"kind": "Deployment", "name": "web"})])
