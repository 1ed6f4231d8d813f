"""Webhook configuration objects (spec §2.1): names, rules, selectors, client configs and caBundle."""

from __future__ import annotations

import pytest

from webhook.registrations import (
    mutating_configuration,
    parse_match_label,
    validating_configuration,
    with_ca_bundle,
)


def test_the_mutating_configuration_covers_workloads_and_pods() -> None:
    config = mutating_configuration("Q0E=")
    assert config["metadata"]["name"] == "varmor-resource-mutating-webhook-cfg"
    workload, pod = config["webhooks"]
    assert workload["name"] == "mutateworkload.varmor.org"
    assert workload["rules"][0]["resources"] == ["daemonsets", "deployments", "statefulsets"]
    assert workload["rules"][0]["operations"] == ["CREATE", "UPDATE"]
    assert pod["name"] == "mutatepod.varmor.org"
    assert pod["rules"][0] == {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                               "resources": ["pods"], "scope": "*"}
    for hook in (workload, pod):
        assert hook["failurePolicy"] == "Ignore"
        assert hook["sideEffects"] == "NoneOnDryRun"
        assert hook["reinvocationPolicy"] == "IfNeeded"
        assert hook["objectSelector"] == {"matchLabels": {"sandbox.varmor.org/enable": "true"}}
        assert hook["clientConfig"] == {"caBundle": "Q0E=", "service": {
            "name": "varmor-webhook-svc", "namespace": "varmor", "path": "/mutate", "port": 443}}


def test_an_empty_match_label_selects_every_workload() -> None:
    config = mutating_configuration("Q0E=", match_label="")
    assert all(hook["objectSelector"] == {"matchLabels": {}} for hook in config["webhooks"])


@pytest.mark.parametrize("text", ["novalue", "=x"])
def test_a_match_label_must_be_key_equals_value(text: str) -> None:
    with pytest.raises(ValueError, match="key=value"):
        parse_match_label(text)


def test_outside_a_cluster_the_webhooks_are_called_by_url_under_debug_names() -> None:
    mutating = mutating_configuration("Q0E=", url_base="https://10.0.0.7:3443")
    validating = validating_configuration("Q0E=", url_base="https://10.0.0.7:3443")
    assert mutating["metadata"]["name"] == "varmor-resource-mutating-webhook-cfg-debug"
    assert validating["metadata"]["name"] == "varmor-policy-validating-webhook-cfg-debug"
    assert mutating["webhooks"][0]["clientConfig"] == {"caBundle": "Q0E=", "url": "https://10.0.0.7:3443/mutate"}
    assert mutating["webhooks"][0]["reinvocationPolicy"] == "Never"
    assert validating["webhooks"][0]["clientConfig"]["url"] == "https://10.0.0.7:3443/validate"


def test_the_validating_configuration_covers_both_policy_kinds_without_selector() -> None:
    hook = validating_configuration("Q0E=")["webhooks"][0]
    assert hook["name"] == "validatepolicy.varmor.org"
    assert hook["rules"][0]["apiGroups"] == ["crd.varmor.org"]
    assert hook["rules"][0]["apiVersions"] == ["v1beta1"]
    assert hook["rules"][0]["resources"] == ["varmorpolicies", "varmorclusterpolicies"]
    assert hook["sideEffects"] == "None" and hook["failurePolicy"] == "Ignore"
    assert "objectSelector" not in hook
    assert hook["clientConfig"]["service"]["path"] == "/validate"


def test_a_new_ca_bundle_reaches_every_webhook_without_touching_the_original() -> None:
    original = mutating_configuration("b2xk")
    updated = with_ca_bundle(original, "bmV3")
    assert [h["clientConfig"]["caBundle"] for h in updated["webhooks"]] == ["bmV3", "bmV3"]
    assert [h["clientConfig"]["caBundle"] for h in original["webhooks"]] == ["b2xk", "b2xk"]

