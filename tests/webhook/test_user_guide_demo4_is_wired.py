"""The user guide's demo-4: one VarmorClusterPolicy selects both Deployments by ``app: demo-4``.

Every container of ``default/demo-4`` (the guide gives it one, ``c0``) and ``c1`` of ``demo/demo-4``
are wired to ``varmor-cluster-varmor-demo-4``; ``c0`` of ``demo/demo-4`` is opted out and untouched.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml

from tests.webhook.helpers import GOLDEN, applied, review
from webhook.mutating import MutationOptions, mutate_request
from webhook.policies import load_policy_documents
from webhook.reviews import parse_review

NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=datetime.UTC)
PROFILE = "varmor-cluster-varmor-demo-4"
LOCALHOST = f"localhost/{PROFILE}"
POLICIES = load_policy_documents((GOLDEN / "demo-4" / "vcpol.yaml").read_text())
DEFAULT, DEMO = yaml.safe_load_all((GOLDEN / "demo-4" / "deployments.yaml").read_text())


def _mutated(deployment: dict[str, Any], apparmor_ga: bool) -> dict[str, Any]:
    import json

    body = json.dumps(review(deployment, "Deployment", deployment["metadata"]["namespace"])).encode()
    response = mutate_request(parse_review(body), POLICIES, MutationOptions(apparmor_ga=apparmor_ga), NOW)
    assert response["allowed"] is True
    return applied(deployment, response)


def test_every_container_of_default_demo4_gets_the_cluster_profile_on_kubernetes_1_30() -> None:
    template = _mutated(DEFAULT, apparmor_ga=True)["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    for container in template["spec"]["containers"]:
        name = container["name"]
        assert annotations[f"container.apparmor.security.beta.varmor.org/{name}"] == LOCALHOST
        assert annotations[f"container.seccomp.security.beta.varmor.org/{name}"] == LOCALHOST
        assert container["securityContext"] == {
            "appArmorProfile": {"type": "Localhost", "localhostProfile": PROFILE},
            "seccompProfile": {"type": "Localhost", "localhostProfile": PROFILE},
        }


def test_only_c1_of_demo_demo4_is_wired_and_c0_is_untouched() -> None:
    before = DEMO["spec"]["template"]
    after = _mutated(DEMO, apparmor_ga=True)["spec"]["template"]
    annotations = after["metadata"]["annotations"]
    c0, c1 = after["spec"]["containers"]
    assert c0 == before["spec"]["containers"][0]
    assert annotations["container.apparmor.security.beta.varmor.org/c0"] == "unconfined"
    assert annotations["container.seccomp.security.beta.varmor.org/c0"] == "unconfined"
    assert annotations["container.apparmor.security.beta.varmor.org/c1"] == LOCALHOST
    assert annotations["container.seccomp.security.beta.varmor.org/c1"] == LOCALHOST
    assert c1["securityContext"]["appArmorProfile"]["localhostProfile"] == PROFILE
    assert c1["securityContext"]["seccompProfile"]["localhostProfile"] == PROFILE


def test_before_kubernetes_1_30_the_kubernetes_apparmor_annotation_carries_the_profile() -> None:
    annotations = _mutated(DEMO, apparmor_ga=False)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["container.apparmor.security.beta.kubernetes.io/c1"] == LOCALHOST
    assert "container.apparmor.security.beta.kubernetes.io/c0" not in annotations


@pytest.mark.parametrize("deployment", [DEFAULT, DEMO], ids=["default", "demo"])
def test_the_deployment_itself_records_when_it_was_mutated(deployment: dict[str, Any]) -> None:
    mutated = _mutated(deployment, apparmor_ga=True)
    assert mutated["metadata"]["annotations"]["webhook.varmor.org/mutatedAt"] == "2026-11-28T12:00:00Z"
    assert "webhook.varmor.org/mutatedAt" not in mutated["spec"]["template"]["metadata"]["annotations"]
