"""The local cluster's SubjectAccessReview verdicts follow RBAC: bindings, subjects and rule matching."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from localcluster.rbac import Rbac, Request, decide, rule_allows
from localcluster.reviews import access_request

SA = "system:serviceaccount:tools:exporter"
APM = {"group": "crd.varmor.org", "resource": "armorprofilemodels"}


def _meta(name: str, namespace: str = "") -> dict[str, Any]:
    return {"name": name, **({"namespace": namespace} if namespace else {})}


def _rbac(roles: Sequence[dict[str, Any]] = (), cluster_roles: Sequence[dict[str, Any]] = (),
          bindings: Sequence[dict[str, Any]] = (), cluster_bindings: Sequence[dict[str, Any]] = ()) -> Rbac:
    return Rbac({(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in roles},
                {r["metadata"]["name"]: r for r in cluster_roles}, list(bindings), list(cluster_bindings))


READER = {"metadata": _meta("apm-reader"), "rules": [
    {"apiGroups": ["crd.varmor.org"], "resources": ["armorprofilemodels"], "verbs": ["get", "list"]}]}


def _binding(kind: str, role: dict[str, Any], subject: dict[str, Any], namespace: str = "") -> dict[str, Any]:
    return {"metadata": _meta(f"bind-{role['metadata']['name']}", namespace),
            "roleRef": {"kind": kind, "name": role["metadata"]["name"]}, "subjects": [subject]}


def test_a_service_account_bound_to_a_cluster_role_may_do_what_the_role_says() -> None:
    rbac = _rbac(cluster_roles=[READER], cluster_bindings=[
        _binding("ClusterRole", READER,
                 {"kind": "ServiceAccount", "name": "exporter", "namespace": "tools"})])
    allowed, reason = decide(rbac, Request(SA, (), "get", namespace="varmor", **APM))
    assert allowed and 'ClusterRoleBinding "bind-apm-reader"' in reason
    assert decide(rbac, Request(SA, (), "create", namespace="varmor", **APM)) == (False, "")
    assert decide(rbac, Request("system:serviceaccount:tools:other", (), "get", **APM))[0] is False


def test_a_role_binding_grants_only_in_its_own_namespace() -> None:
    rbac = _rbac(cluster_roles=[READER], bindings=[
        _binding("ClusterRole", READER, {"kind": "ServiceAccount", "name": "exporter"}, "tools")])
    assert decide(rbac, Request(SA, (), "get", namespace="tools", **APM))[0] is True
    assert decide(rbac, Request(SA, (), "get", namespace="varmor", **APM))[0] is False
    assert decide(rbac, Request(SA, (), "get", **APM))[0] is False  # cluster-wide needs a cluster binding


def test_a_role_is_looked_up_in_the_binding_namespace() -> None:
    role = {"metadata": _meta("writer", "varmor"), "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["create"]}]}
    rbac = _rbac(roles=[role], bindings=[_binding("Role", role, {"kind": "User", "name": "jane"}, "varmor")])
    assert decide(rbac, Request("jane", (), "create", namespace="varmor", **APM))[0] is True
    assert decide(rbac, Request("john", (), "create", namespace="varmor", **APM))[0] is False


def test_groups_and_system_masters_are_honoured() -> None:
    rbac = _rbac(cluster_roles=[READER], cluster_bindings=[
        _binding("ClusterRole", READER, {"kind": "Group", "name": "auditors"})])
    assert decide(rbac, Request("x", ("auditors",), "list", **APM))[0] is True
    assert decide(rbac, Request("x", ("system:masters",), "delete", **APM))[0] is True
    assert decide(rbac, Request("x", ("others",), "list", **APM))[0] is False


@pytest.mark.parametrize(("rule", "request_", "expected"), [
    ({"verbs": ["*"], "apiGroups": [""], "resources": ["pods/*"]},
     Request("u", (), "get", "", "pods", "log"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
     Request("u", (), "get", "", "pods", "log"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/status"]},
     Request("u", (), "get", "", "pods", "status"), True),
    ({"verbs": ["get"], "apiGroups": ["crd.varmor.org"], "resources": ["armorprofilemodels"],
      "resourceNames": ["a"]},
     Request("u", (), "get", "crd.varmor.org", "armorprofilemodels", name="b"), False),
    ({"verbs": ["get"], "nonResourceURLs": ["/healthz*"]},
     Request("u", (), "get", path="/healthz/ready"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/metrics"]}, Request("u", (), "get", path="/healthz"), False),
])
def test_rules_match_verbs_groups_resources_names_and_urls(rule: dict[str, Any], request_: Request,
                                                          expected: bool) -> None:
    assert rule_allows(rule, request_) is expected


def test_a_review_without_a_subject_or_attributes_is_invalid() -> None:
    from localcluster.errors import ApiError

    with pytest.raises(ApiError) as no_user:
        access_request({"resourceAttributes": {"verb": "get"}}, None)
    assert no_user.value.code == 422
    with pytest.raises(ApiError) as no_attrs:
        access_request({"user": "jane"}, None)
    assert no_attrs.value.code == 422
    with pytest.raises(ApiError) as other_namespace:
        access_request({"user": "jane", "resourceAttributes": {"namespace": "a"}}, "b")
    assert other_namespace.value.code == 422
