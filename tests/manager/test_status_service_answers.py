"""The status service's HTTP contract with its ports faked (our own Protocols): codes, never a 5xx for
bad input, a report answered only after the store returns, metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from flask.testing import FlaskClient

from controller.ingesting import UnknownProfile
from controller.reports import Report
from controller.tokenreviews import Identity
from manager.statusservice import StatusSettings, create_app

PROFILE = "varmor-cluster-varmor-demo-4"


AGENT = Identity("system:serviceaccount:varmor:varmor-agent")
READER = Identity("system:serviceaccount:tools:reader")


class Tokens:
    def authenticate(self, token: str) -> Identity | None:
        return {"good": AGENT, "reader": READER}.get(token)


class Access:
    """The agent may do anything with models; the reader may only get them."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str, str]] = []

    def allowed(self, identity: Identity, verb: str, namespace: str, name: str) -> bool:
        self.asked.append((identity.user, verb, namespace, name))
        return identity == AGENT or verb == "get"


class Store:
    def __init__(self) -> None:
        self.reports: list[Report] = []
        self.fail: BaseException | None = None

    def record_status(self, report: Report) -> None:
        self._record(report)

    def record_data(self, report: Report) -> None:
        self._record(report)

    def record_violations(self, report: Report) -> None:
        self._record(report)

    def _record(self, report: Report) -> None:
        if self.fail is not None:
            raise self.fail
        if report.profile == "missing":
            raise UnknownProfile("ArmorProfile varmor/missing does not exist.")
        self.reports.append(report)


class Models:
    def export(self, namespace: str, name: str) -> dict[str, Any] | None:
        return {"metadata": {"name": name, "namespace": namespace}} if name == PROFILE else None

    def import_model(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return {"imported": name}


@pytest.fixture
def setup() -> tuple[FlaskClient, Store]:
    store = Store()
    app = create_app(StatusSettings(max_body_bytes=1024), Tokens(), store, Models(),
                     lambda error: 404 if isinstance(error, UnknownProfile) else 503,
                     lambda: {"Modeling": 2, "Completed": 1}, Access())
    return app.test_client(), store


def body(node: str = "node-1", profile: str = PROFILE) -> dict[str, Any]:
    return {"namespace": "varmor", "armorProfile": profile, "nodeName": node, "status": "succeeded"}


def test_a_report_with_a_good_token_is_stored_then_answered(setup: tuple[FlaskClient, Store]) -> None:
    client, store = setup
    answer = client.post("/apis/v1/data", json=body(), headers={"Token": "good"})
    assert (answer.status_code, answer.json) == (200, {"status": "ok"})
    assert [r.node for r in store.reports] == ["node-1"]
    bearer = client.post("/apis/v1/status", json=body("node-2"), headers={"Authorization": "Bearer good"})
    assert bearer.status_code == 200 and store.reports[-1].node == "node-2"


@pytest.mark.parametrize(("headers", "payload", "code"), [
    ({}, body(), 401),
    ({"Token": "bad"}, body(), 401),
    ({"Authorization": "Basic good"}, body(), 401),
    ({"Token": "good"}, {**body(), "message": "x" * 2000}, 413),
    ({"Token": "good"}, {"nodeName": "n"}, 400),
    ({"Token": "good"}, body(profile="missing"), 404),
])
def test_bad_requests_get_their_code_and_a_message(
    setup: tuple[FlaskClient, Store], headers: dict[str, str], payload: Any, code: int
) -> None:
    client, store = setup
    answer = client.post("/apis/v1/data", json=payload, headers=headers)
    assert answer.status_code == code
    assert answer.json is not None and answer.json["message"]
    assert store.reports == []


def test_invalid_or_deeply_nested_json_is_400(setup: tuple[FlaskClient, Store]) -> None:
    client, _ = setup
    assert client.post("/apis/v1/data", data=b"{", headers={"Token": "good"}).status_code == 400
    deep = b"[" * 500 + b"]" * 500
    assert client.post("/apis/v1/data", data=deep, headers={"Token": "good"}).status_code == 400


def test_a_store_failure_is_503_without_details_so_the_agent_retries(
    setup: tuple[FlaskClient, Store],
) -> None:
    client, store = setup
    store.fail = RuntimeError("etcd is down at 10.0.0.1")
    answer = client.post("/apis/v1/data", json=body(), headers={"Token": "good"})
    assert answer.status_code == 503 and "10.0.0.1" not in answer.get_data(as_text=True)


def test_health_export_unknown_paths_and_metrics(setup: tuple[FlaskClient, Store]) -> None:
    client, _ = setup
    assert client.get("/healthz").get_data(as_text=True) == "ok"
    path = "/apis/crd.varmor.org/v1beta1/namespaces/varmor/armorprofilemodels/"
    assert client.get(path + PROFILE).status_code == 401
    assert client.get(path + PROFILE, headers={"Authorization": "Bearer good"}).json == {
        "metadata": {"name": PROFILE, "namespace": "varmor"}}
    assert client.get(path + "other", headers={"Authorization": "Bearer good"}).status_code == 404
    assert client.post(path + "x", json=[], headers={"Authorization": "Bearer good"}).status_code == 400
    assert client.get("/nowhere").status_code == 404
    client.post("/apis/v1/data", json=body(), headers={"Token": "good"})
    client.post("/apis/v1/data", json=body())
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'varmor_status_reports_total{endpoint="data",result="accepted"} 1.0' in metrics
    assert 'varmor_status_reports_total{endpoint="data",result="401"} 1.0' in metrics
    assert 'varmor_status_report_seconds_count{endpoint="data"} 1.0' in metrics
    assert 'varmor_policies{phase="Modeling"} 2.0' in metrics
    assert 'varmor_policies{phase="Completed"} 1.0' in metrics


def test_export_and_import_need_the_subjects_permission_or_get_403() -> None:
    access = Access()
    app = create_app(StatusSettings(max_body_bytes=1024), Tokens(), Store(), Models(), access=access)
    client = app.test_client()
    path = f"/apis/crd.varmor.org/v1beta1/namespaces/varmor/armorprofilemodels/{PROFILE}"
    assert client.get(path, headers={"Authorization": "Bearer reader"}).status_code == 200
    refused = client.post(path, json={"data": {}}, headers={"Authorization": "Bearer reader"})
    assert refused.status_code == 403
    assert refused.json is not None
    assert 'cannot create resource "armorprofilemodels"' in refused.json["message"]
    assert client.post(path, json={"data": {}}, headers={"Authorization": "Bearer good"}).status_code == 200
    assert [(user, verb) for user, verb, _, _ in access.asked] == [
        (READER.user, "get"), (READER.user, "create"), (AGENT.user, "create")]
