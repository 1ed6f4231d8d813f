"""Property tests: generated reviews never crash the handler, and every patch applies cleanly.

At least 10,000 generated reviews go through the pure handler, and a few hundred through the real
TLS server, which must answer 200 or 400 and never 5xx.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from typing import Any

import jsonpatch
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhook.conftest import RunningWebhook
from tests.webhook.strategies import CASES, OBJECTS, POLICY, as_review
from webhook.mutating import MUTATED_AT, MutationOptions, mutate_request
from webhook.reviews import ReviewError, parse_review
from webhook.validating import ValidationOptions, validate_request

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
OPTIONS = st.builds(MutationOptions, st.just("varmor"), st.booleans(), st.booleans())


def _check_mutation(obj: dict[str, Any], answer: dict[str, Any], stamp: str = "2026-01-01T00:00:00Z") -> None:
    assert answer["allowed"] is True
    if "patch" not in answer:
        return
    patch = json.loads(base64.b64decode(answer["patch"]))
    assert patch, "an empty patch must be omitted"
    mutated = jsonpatch.apply_patch(obj, patch)
    assert mutated != obj
    assert re.fullmatch(stamp, mutated["metadata"]["annotations"][MUTATED_AT])


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=CASES, namespace=st.sampled_from(["demo", "default"]), options=OPTIONS)
def test_ten_thousand_generated_reviews_get_an_answer_whose_patch_applies(
    case: tuple[dict[str, Any], list[dict[str, Any]]], namespace: str, options: MutationOptions
) -> None:
    obj, policies = case
    request = parse_review(json.dumps(as_review(obj, namespace)).encode())
    _check_mutation(obj, dict(mutate_request(request, policies, options, NOW)))


@settings(max_examples=2_000, deadline=None)
@given(new=POLICY, old=POLICY, operation=st.sampled_from(["CREATE", "UPDATE", "DELETE", "CONNECT"]))
def test_generated_policy_reviews_get_a_verdict(
    new: dict[str, Any], old: dict[str, Any], operation: str
) -> None:
    body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "kind": {"group": "crd.varmor.org", "version": "v1beta1", "kind": new["kind"]},
        "operation": operation, "object": new, "oldObject": old}}
    response = validate_request(parse_review(json.dumps(body).encode()), ValidationOptions())
    assert isinstance(response["allowed"], bool)
    if not response["allowed"]:
        assert response["status"]["message"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=2_000, deadline=None)
@given(body=st.binary(max_size=64) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bodies_are_parsed_or_rejected_as_malformed(body: bytes) -> None:
    try:
        request = parse_review(body)
    except ReviewError:
        return
    mutate_request(request, [], MutationOptions(), NOW)
    validate_request(request, ValidationOptions())


@pytest.fixture(scope="module")
def session() -> requests.Session:
    return requests.Session()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(obj=OBJECTS, namespace=st.sampled_from(["demo", "default"]), junk=st.booleans())
def test_the_real_server_never_answers_5xx(
    webhook_server: RunningWebhook, session: requests.Session, obj: dict[str, Any], namespace: str, junk: bool
) -> None:
    review = as_review(obj, namespace)
    if junk:
        review["request"]["kind"] = obj.get("metadata")
    reply = session.post(f"{webhook_server.url}/mutate", data=json.dumps(review).encode(),
                         headers={"Content-Type": "application/json"}, verify=str(webhook_server.ca),
                         timeout=10)
    assert reply.status_code in (200, 400)
    if reply.status_code == 200:
        _check_mutation(obj, reply.json()["response"], r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
