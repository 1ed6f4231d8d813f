"""JSON nested hundreds of levels deep is a malformed review (400) on both endpoints, never a 500.

Checked on the real server, with the nesting under the workload the policy selects (so the mutation
code would walk it) and under a policy's ``spec.target`` (so the validation code would).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import requests
import yaml

from tests.webhook.conftest import RunningWebhook
from tests.webhook.helpers import GOLDEN, review
from webhook.reviews import depth_problem

_, DEMO = yaml.safe_load_all((GOLDEN / "demo-4" / "deployments.yaml").read_text())
POLICY = yaml.safe_load((GOLDEN / "demo-4" / "vcpol.yaml").read_text())


def nested(levels: int) -> Any:
    value: Any = "deep"
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


def workload_with(levels: int) -> dict[str, Any]:
    deployment = copy.deepcopy(DEMO)
    deployment["spec"]["template"]["metadata"]["annotations"] = {"x": "y"}
    deployment["spec"]["template"]["spec"]["containers"][0]["extra"] = nested(levels)
    return review(deployment, "Deployment", "demo")


def policy_with(levels: int) -> dict[str, Any]:
    policy = copy.deepcopy(POLICY)
    policy["spec"]["target"]["selector"] = nested(levels)
    return review(policy, "VarmorClusterPolicy", "")


@pytest.mark.parametrize("levels", [500, 900])
@pytest.mark.parametrize("build", [workload_with, policy_with], ids=["selected-object", "spec-target"])
@pytest.mark.parametrize("path", ["/mutate", "/validate"])
def test_deep_nesting_is_answered_400_with_a_clear_message(
    webhook_server: RunningWebhook, path: str, build: Any, levels: int
) -> None:
    body = json.dumps(build(levels)).encode()
    reply = requests.post(f"{webhook_server.url}{path}", data=body, verify=str(webhook_server.ca),
                          headers={"Content-Type": "application/json"}, timeout=10)
    assert reply.status_code == 400
    assert "nests deeper than" in reply.json()["message"]


def test_the_server_still_answers_after_deep_bodies(webhook_server: RunningWebhook) -> None:
    reply = requests.post(f"{webhook_server.url}/mutate", data=json.dumps(review(DEMO, "Deployment", "demo")),
                          verify=str(webhook_server.ca), headers={"Content-Type": "application/json"},
                          timeout=10)
    assert reply.status_code == 200 and reply.json()["response"]["allowed"] is True


def test_ordinary_objects_are_far_below_the_depth_limit() -> None:
    assert depth_problem(review(DEMO, "Deployment", "demo")) is None
    assert depth_problem(nested(100)) is None
    assert depth_problem(nested(200)) == "The body nests deeper than 128 levels."
