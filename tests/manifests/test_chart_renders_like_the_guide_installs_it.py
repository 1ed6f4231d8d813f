"""The Helm chart, linted and rendered by Helm's own Go SDK with the user guide's ``--set`` strings,
and every rendered object validated against the Kubernetes 1.30 schemas."""

from __future__ import annotations

import pathlib
from typing import Any

import kubernetes_validate
import pytest
import yaml

from localcluster import charts
from webhook.registrations import mutating_configuration, validating_configuration

GUIDE_SETS = [
    "image.registry=elkeid-cn-beijing.cr.volces.com",
    "behaviorModeling.enabled=true",
    "manager.args={--webhookMatchLabel=}",
    "agent.args={--auditLogPaths=/var/log/audit/audit.log|/var/log/kern.log}",
]
SHIPPED = pathlib.Path(charts.CHART).parent / "varmor.yaml"


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    obj: dict[str, Any] = found[0]
    return obj


def container(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = one(objects, kind, name)["spec"]["template"]["spec"]
    assert len(spec["containers"]) == 1
    first: dict[str, Any] = spec["containers"][0]
    return first


@pytest.mark.parametrize("sets", [[], GUIDE_SETS, ["manager.behaviorModeling.usePersistentVolume=true"]])
def test_the_chart_lints_clean_for_kubernetes_1_30(sets: list[str]) -> None:
    assert charts.lint(sets) == []


@pytest.mark.parametrize("sets", [[], GUIDE_SETS, ["manager.behaviorModeling.usePersistentVolume=true"]])
def test_every_rendered_object_is_valid_for_kubernetes_1_30(sets: list[str]) -> None:
    objects = charts.render(sets, hooks=True)
    assert len(objects) >= 18
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30", strict=True)


def test_the_guides_empty_match_label_makes_the_webhook_match_every_workload() -> None:
    objects = charts.render(GUIDE_SETS)
    mutating = one(objects, "MutatingWebhookConfiguration", "varmor-resource-mutating-webhook-cfg")
    assert [hook["objectSelector"] for hook in mutating["webhooks"]] == [{"matchLabels": {}}] * 2
    assert "--webhookMatchLabel=" in container(objects, "Deployment", "varmor-manager")["args"]


def test_by_default_the_webhook_matches_the_sandbox_label() -> None:
    mutating = one(charts.render(), "MutatingWebhookConfiguration", "varmor-resource-mutating-webhook-cfg")
    expected = {"matchLabels": {"sandbox.varmor.org/enable": "true"}}
    assert [hook["objectSelector"] for hook in mutating["webhooks"]] == [expected] * 2


def test_a_match_label_without_a_value_separator_fails_the_render_with_a_clear_message() -> None:
    with pytest.raises(charts.ChartError, match="key=value or empty"):
        charts.render(["manager.args={--webhookMatchLabel=nolabel}"])


def test_the_guides_values_reach_the_manager_and_the_agent() -> None:
    objects = charts.render(GUIDE_SETS)
    manager = container(objects, "Deployment", "varmor-manager")
    agent = container(objects, "DaemonSet", "varmor-agent")
    assert manager["image"] == agent["image"] == "elkeid-cn-beijing.cr.volces.com/varmor/varmor-py:0.1.0"
    assert manager["args"][0] == agent["args"][0] == "--enableBehaviorModeling"
    assert "--auditLogPaths=/var/log/audit/audit.log|/var/log/kern.log" in agent["args"]
    assert agent["resources"] == {"limits": {"cpu": "2", "memory": "2Gi"},
                                  "requests": {"cpu": "500m", "memory": "500Mi"}}


def test_without_behaviour_modeling_neither_part_is_asked_to_model() -> None:
    objects = charts.render()
    for kind, name in (("Deployment", "varmor-manager"), ("DaemonSet", "varmor-agent")):
        assert "--enableBehaviorModeling" not in container(objects, kind, name)["args"]


def test_the_webhook_configurations_are_what_the_manager_builds() -> None:
    objects = charts.render()
    rendered = [one(objects, "MutatingWebhookConfiguration", "varmor-resource-mutating-webhook-cfg"),
                one(objects, "ValidatingWebhookConfiguration", "varmor-policy-validating-webhook-cfg")]
    for obj in rendered:
        del obj["metadata"]["labels"]
    assert rendered == [mutating_configuration(""), validating_configuration("")]


def test_the_status_service_reaches_only_the_leader_and_the_webhook_service_every_replica() -> None:
    objects = charts.render()
    status = one(objects, "Service", "varmor-status-svc")["spec"]
    webhook = one(objects, "Service", "varmor-webhook-svc")["spec"]
    assert status["selector"] == {"app": "varmor-manager", "identity": "leader"}
    assert status["ports"][0]["port"] == 8080
    assert webhook["selector"] == {"app": "varmor-manager"}
    assert (webhook["ports"][0]["port"], webhook["ports"][0]["targetPort"]) == (443, "webhook")
    manager = container(objects, "Deployment", "varmor-manager")
    ports = {p["name"]: p["containerPort"] for p in manager["ports"]}
    assert ports == {"webhook": 3443, "status": 8080}


def test_the_agent_runs_privileged_in_the_host_pid_namespace_with_the_mounts_bcc_needs() -> None:
    daemonset = one(charts.render(), "DaemonSet", "varmor-agent")["spec"]["template"]["spec"]
    assert daemonset["hostPID"] is True
    [agent] = daemonset["containers"]
    assert agent["securityContext"]["privileged"] is True
    mounts = {m["mountPath"] for m in agent["volumeMounts"]}
    assert {"/sys/kernel/debug", "/sys/fs/cgroup", "/lib/modules", "/usr/src", "/var/lib/kubelet/seccomp",
            "/var/log", "/var/lib/varmor", "/var/run/secrets/tokens"} <= mounts
    [projected] = [v["projected"] for v in daemonset["volumes"] if "projected" in v]
    token = projected["sources"][0]["serviceAccountToken"]
    assert token == {"path": "bound-token", "audience": "varmor-manager", "expirationSeconds": 86400}
    assert {e["name"] for e in agent["env"]} >= {"NODE_NAME", "POD_NAME", "POD_NAMESPACE"}


def test_a_persistent_volume_keeps_large_models_when_asked() -> None:
    objects = charts.render(["manager.behaviorModeling.usePersistentVolume=true"])
    claim = one(objects, "PersistentVolumeClaim", "varmor-manager-apmdata-pvc")
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    volumes = one(objects, "Deployment", "varmor-manager")["spec"]["template"]["spec"]["volumes"]
    claimed = {"claimName": "varmor-manager-apmdata-pvc"}
    assert {"name": "apmdata", "persistentVolumeClaim": claimed} in volumes
    assert not [o for o in charts.render() if o["kind"] == "PersistentVolumeClaim"]


def test_the_pre_delete_clean_up_is_a_hook_that_plain_manifests_leave_out() -> None:
    job = one(charts.render(hooks=True), "Job", "varmor-predelete")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-delete"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["varmor", "predelete"]
    assert not [o for o in charts.render() if o["kind"] == "Job"]


def test_the_shipped_manifest_is_the_charts_default_rendering() -> None:
    assert SHIPPED.read_text() == charts.manifest_text(charts.render()), "run `make manifests`"
    assert yaml.safe_load_all(SHIPPED.read_text())
