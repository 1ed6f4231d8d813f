"""TokenRequest issues audience-bound ServiceAccount tokens; TokenReview and the access reviews check them."""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from localcluster import tokens
from tests.localcluster.support import Kube, eventually


def _token(kube: Kube, ns: str, sa: str, audiences: list[str], **spec: Any) -> str:
    body = {"spec": {"audiences": audiences, **spec}}
    answer = kube.core.create_namespaced_service_account_token(sa, ns, body)
    return str(answer.status.token)


def _review(kube: Kube, token: str, audiences: list[str]) -> Any:
    body = {"spec": {"token": token, "audiences": audiences}}
    authn: Any = client.AuthenticationV1Api(kube.api)
    return authn.create_token_review(body).status


@pytest.fixture(scope="module")
def account(kube: Kube) -> tuple[str, str]:
    ns = kube.namespace("tok")
    kube.core.create_namespaced_service_account(ns, {"metadata": {"name": "varmor-agent"}})
    return ns, "varmor-agent"


def test_a_token_for_an_audience_authenticates_the_service_account(
    kube: Kube, account: tuple[str, str]
) -> None:
    ns, sa = account
    status = _review(
        kube, _token(kube, ns, sa, ["varmor-manager"], expirationSeconds=86400), ["varmor-manager"]
    )
    assert status.authenticated is True
    assert status.user.username == f"system:serviceaccount:{ns}:{sa}"
    assert f"system:serviceaccounts:{ns}" in status.user.groups
    assert status.audiences == ["varmor-manager"]


def test_a_token_is_refused_for_another_audience(kube: Kube, account: tuple[str, str]) -> None:
    ns, sa = account
    status = _review(kube, _token(kube, ns, sa, ["varmor-manager"]), ["someone-else"])
    assert status.authenticated is not True
    assert "audiences" in status.error


def test_a_tampered_token_is_refused(kube: Kube, account: tuple[str, str]) -> None:
    ns, sa = account
    header, payload, signature = _token(kube, ns, sa, ["varmor-manager"]).split(".")
    forged = f"{header}.{payload[:-2]}AA.{signature}"
    assert _review(kube, forged, ["varmor-manager"]).authenticated is not True


def test_a_token_of_a_deleted_service_account_is_refused(kube: Kube) -> None:
    ns = kube.namespace("tokdel")
    kube.core.create_namespaced_service_account(ns, {"metadata": {"name": "short-lived"}})
    token = _token(kube, ns, "short-lived", ["varmor-manager"])
    kube.core.delete_namespaced_service_account("short-lived", ns)
    status = _review(kube, token, ["varmor-manager"])
    assert status.authenticated is not True
    assert "deleted" in status.error


def test_a_token_bound_to_a_pod_dies_with_the_pod(kube: Kube, account: tuple[str, str]) -> None:
    ns, sa = account
    pod = kube.core.create_namespaced_pod(
        ns, {"metadata": {"name": "bound"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    )
    ref = {"kind": "Pod", "apiVersion": "v1", "name": "bound", "uid": pod.metadata.uid}
    token = _token(kube, ns, sa, ["varmor-manager"], boundObjectRef=ref)
    status = _review(kube, token, ["varmor-manager"])
    assert status.user.extra["authentication.kubernetes.io/pod-name"] == ["bound"]
    kube.core.delete_namespaced_pod("bound", ns, grace_period_seconds=0)
    eventually(lambda: _review(kube, token, ["varmor-manager"]).authenticated is not True)


def test_a_token_request_shorter_than_ten_minutes_is_invalid(kube: Kube, account: tuple[str, str]) -> None:
    ns, sa = account
    with pytest.raises(ApiException) as err:
        _token(kube, ns, sa, ["x"], expirationSeconds=60)
    assert err.value.status == 422


def test_a_token_for_a_missing_service_account_is_not_found(kube: Kube, account: tuple[str, str]) -> None:
    with pytest.raises(ApiException) as err:
        _token(kube, account[0], "nobody", ["x"])
    assert err.value.status == 404


def test_an_expired_token_is_refused(tmp_path: pathlib.Path) -> None:
    authority = tokens.Authority(tmp_path)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    token, _ = authority.issue(tokens.Account("ns", "sa", "uid"), ["aud"], 600, past)
    status = tokens.review(authority, token, ["aud"], datetime.datetime.now(datetime.UTC))
    assert status["authenticated"] is False
    assert "expired" in status["error"]


def test_the_signing_key_survives_a_restart(tmp_path: pathlib.Path) -> None:
    now = datetime.datetime.now(datetime.UTC)
    token, _ = tokens.Authority(tmp_path).issue(tokens.Account("ns", "sa", "uid"), ["aud"], 600, now)
    again = tokens.Authority(tmp_path)
    assert tokens.review(again, token, ["aud"], now)["authenticated"] is True
    assert (tmp_path / "sa.key").stat().st_mode & 0o777 == 0o600


def test_a_bearer_token_of_a_deleted_account_is_unauthorized(kube: Kube) -> None:
    ns = kube.namespace("tokauth")
    kube.core.create_namespaced_service_account(ns, {"metadata": {"name": "caller"}})
    token = _token(kube, ns, "caller", [])
    cfg = client.Configuration()
    cfg.host = kube.api.configuration.host
    cfg.api_key = {"authorization": f"Bearer {token}"}
    as_caller: Any = client.CoreV1Api(client.ApiClient(cfg))
    assert as_caller.read_namespace(ns).metadata.name == ns
    kube.core.delete_namespaced_service_account("caller", ns)
    with pytest.raises(ApiException) as err:
        as_caller.read_namespace(ns)
    assert err.value.status == 401


def test_subject_access_reviews_follow_rbac_and_self_reviews_allow(kube: Kube) -> None:
    authz: Any = client.AuthorizationV1Api(kube.api)
    ns = kube.namespace("sar")
    attrs = {"verb": "get", "group": "crd.varmor.org", "resource": "armorprofilemodels", "namespace": ns}
    user = f"system:serviceaccount:{ns}:reader"
    def sar() -> Any:
        body = {"spec": {"user": user, "resourceAttributes": attrs}}
        return authz.create_subject_access_review(body).status
    assert sar().allowed is False
    kube.kubectl("create", "role", "reader", "-n", ns, "--verb=get",
                 "--resource=armorprofilemodels.crd.varmor.org")
    kube.kubectl("create", "rolebinding", "reader", "-n", ns, "--role=reader",
                 f"--serviceaccount={ns}:reader")
    assert sar().allowed is True and "RoleBinding" in sar().reason
    local = authz.create_namespaced_local_subject_access_review(ns, {
        "metadata": {"namespace": ns},
        "spec": {"user": user, "resourceAttributes": {**attrs, "verb": "delete"}}})
    assert local.status.allowed is False
    self_review = authz.create_self_subject_access_review({"spec": {"resourceAttributes": attrs}})
    assert self_review.status.allowed is True
