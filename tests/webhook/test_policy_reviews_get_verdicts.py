"""The validating webhook turns the policy rules into admission verdicts (upstream spec §2.4)."""

from __future__ import annotations

import json

import pytest

from tests.api.test_policies_are_validated_with_upstream_messages import ENABLED, vpol
from tests.webhook.helpers import review
from webhook.reviews import ReviewError, parse_review
from webhook.validating import validate_request


def test_a_rejected_create_is_an_admission_denial_with_the_message() -> None:
    body = json.dumps(review(vpol(modelingOptions=None), "VarmorPolicy", "demo")).encode()
    response = validate_request(parse_review(body), ENABLED)
    assert response["allowed"] is False
    assert response["status"] == {
        "status": "Failure",
        "message": "The modelingOptions field should be set when the policy runs in the BehaviorModeling "
        "mode.",
    }


def test_an_update_without_the_old_object_is_a_malformed_review() -> None:
    body = json.dumps(review(vpol(), "VarmorPolicy", "demo", operation="UPDATE")).encode()
    with pytest.raises(ReviewError, match="oldObject"):
        validate_request(parse_review(body), ENABLED)


def test_deletes_and_other_kinds_are_allowed() -> None:
    delete = json.dumps(review(None, "VarmorPolicy", "demo", operation="DELETE", old=vpol())).encode()
    assert validate_request(parse_review(delete), ENABLED)["allowed"] is True
    pod = json.dumps(review({"kind": "Pod"}, "Pod", "demo")).encode()
    assert validate_request(parse_review(pod), ENABLED)["allowed"] is True
