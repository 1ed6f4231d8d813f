"""The real gunicorn TLS server, checked against the CA it generated: verdicts, patches, 400s, 413s."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from typing import Any

import jsonpatch
import pytest
import requests
import yaml

from tests.webhook.conftest import BODY_LIMIT, RunningWebhook
from tests.webhook.helpers import GOLDEN, review

DEFAULT, DEMO = yaml.safe_load_all((GOLDEN / "demo-4" / "deployments.yaml").read_text())
JSON = {"Content-Type": "application/json"}


def post(server: RunningWebhook, path: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return requests.post(f"{server.url}{path}", data=body, headers=headers or JSON, verify=str(server.ca),
                         timeout=10)


def test_a_workload_review_gets_the_patch_that_wires_the_profiles(webhook_server: RunningWebhook) -> None:
    reply = post(webhook_server, "/mutate", json.dumps(review(DEMO, "Deployment", "demo")).encode())
    assert reply.status_code == 200
    answer = reply.json()
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == "0df28fbd-5f5f-11e8-9d1c-0242ac110002"
    assert response["allowed"] is True and response["patchType"] == "JSONPatch"
    mutated = jsonpatch.apply_patch(DEMO, json.loads(base64.b64decode(response["patch"])))
    annotations = mutated["spec"]["template"]["metadata"]["annotations"]
    profile = "localhost/varmor-cluster-varmor-demo-4"
    assert annotations["container.seccomp.security.beta.varmor.org/c1"] == profile
    assert annotations["container.seccomp.security.beta.varmor.org/c0"] == "unconfined"


def test_an_unselected_workload_is_allowed_without_a_patch(webhook_server: RunningWebhook) -> None:
    other = {**DEFAULT, "metadata": {**DEFAULT["metadata"], "labels": {"app": "other"}}}
    response = post(webhook_server, "/mutate", json.dumps(review(other, "Deployment", "default")).encode())
    assert response.json()["response"] == {
        "uid": "0df28fbd-5f5f-11e8-9d1c-0242ac110002", "allowed": True, "status": {"status": "Success"}}


def test_a_policy_verdict_is_a_denial_with_upstreams_message(webhook_server: RunningWebhook) -> None:
    policy = yaml.safe_load((GOLDEN / "demo-4" / "vcpol.yaml").read_text())
    reply = post(webhook_server, "/validate", json.dumps(review(policy, "VarmorClusterPolicy", "")).encode())
    assert reply.status_code == 200
    assert reply.json()["response"]["allowed"] is False
    assert reply.json()["response"]["status"]["message"] == (
        "The BehaviorModeling feature of vArmor is not enabled. Please enable it first.")


MALFORMED = [
    ("not json", b"{not json", JSON, "not valid JSON"),
    ("not an object", b"[1, 2]", JSON, "must be a JSON object"),
    ("wrong api version", json.dumps({"apiVersion": "v1", "kind": "AdmissionReview"}).encode(), JSON,
     "admission.k8s.io/v1"),
    ("no request", json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(),
     JSON, "review.request is missing"),
    ("no uid", json.dumps({**review(DEMO, "Deployment", "demo"), "request": {"kind": {}}}).encode(), JSON,
     "request.uid is missing"),
    ("wrong content type", json.dumps(review(DEMO, "Deployment", "demo")).encode(),
     {"Content-Type": "text/plain"}, "Content-Type must be application/json"),
]


@pytest.mark.parametrize(("case", "body", "headers", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
@pytest.mark.parametrize("path", ["/mutate", "/validate"])
def test_a_malformed_review_is_answered_400_with_a_clear_message(
    webhook_server: RunningWebhook, path: str, case: str, body: bytes, headers: dict[str, str], message: str
) -> None:
    reply = post(webhook_server, path, body, headers)
    assert reply.status_code == 400
    assert message in reply.json()["message"]


@pytest.mark.parametrize("path", ["/mutate", "/validate"])
def test_a_body_over_the_limit_is_answered_413(webhook_server: RunningWebhook, path: str) -> None:
    reply = post(webhook_server, path, b" " * (BODY_LIMIT + 1))
    assert reply.status_code == 413
    assert "exceeds the limit" in reply.json()["message"]


def test_a_chunked_oversized_body_is_refused_with_413(webhook_server: RunningWebhook) -> None:
    chunks = (b"x" * 65536 for _ in range(BODY_LIMIT // 65536 + 2))
    reply = requests.post(f"{webhook_server.url}/mutate", data=chunks, headers=JSON,
                          verify=str(webhook_server.ca), timeout=10)
    assert reply.status_code == 413
    assert "exceeds the limit" in reply.json()["message"]


def test_health_and_readiness_answer(webhook_server: RunningWebhook) -> None:
    assert requests.get(f"{webhook_server.url}/healthz", verify=str(webhook_server.ca), timeout=5).ok
    ready = requests.get(f"{webhook_server.url}/readyz", verify=str(webhook_server.ca), timeout=5)
    assert ready.json() == {"status": "ok", "policies": 1}


def test_a_client_that_does_not_trust_the_generated_ca_is_refused(webhook_server: RunningWebhook) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{webhook_server.url}/healthz", verify=True, timeout=5)


def test_one_keep_alive_connection_serves_many_reviews(webhook_server: RunningWebhook) -> None:
    context = ssl.create_default_context(cafile=str(webhook_server.ca))
    connection = http.client.HTTPSConnection("127.0.0.1", webhook_server.port, context=context, timeout=10)
    body = json.dumps(review(DEMO, "Deployment", "demo")).encode()
    connection.connect()
    first_socket = connection.sock
    for _ in range(20):
        connection.request("POST", "/mutate", body=body, headers=JSON)
        reply = connection.getresponse()
        assert reply.status == 200 and reply.version == 11
        assert (reply.getheader("Connection") or "").lower() != "close"
        reply.read()
    assert connection.sock is first_socket
    connection.close()
