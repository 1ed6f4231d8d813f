"""kubectl as users type it: protobuf creates, scale, server-side apply, collection delete, Jobs, RBAC."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from localcluster.protobuf import decode, message
from tests.localcluster.support import Kube, eventually

SLEEP = "sleep infinity"


def test_kubectl_create_sends_protobuf_for_the_built_in_kinds(kube: Kube) -> None:
    ns = f"pb-{kube.namespace('x')}"
    kube.kubectl("create", "namespace", ns)
    kube.kubectl("create", "configmap", "cm", "-n", ns, "--from-literal=a=b", "--from-literal=empty=")
    kube.kubectl("create", "secret", "generic", "s", "-n", ns, "--from-literal=pw=secret")
    kube.kubectl("create", "serviceaccount", "sa", "-n", ns)
    kube.kubectl("create", "deployment", "web", "-n", ns, "--image=debian:10", "--replicas=0", "--port=80")
    assert kube.core.read_namespaced_config_map("cm", ns).data == {"a": "b", "empty": ""}
    assert kube.core.read_namespaced_secret("s", ns).data == {"pw": "c2VjcmV0"}
    dep = kube.apps.read_namespaced_deployment("web", ns)
    assert dep.spec.replicas == 0
    assert dep.spec.template.spec.containers[0].ports[0].container_port == 80
    assert kube.core.read_namespaced_service_account("sa", ns).metadata.name == "sa"


def test_kubectl_create_token_and_auth_work(kube: Kube) -> None:
    ns = kube.namespace("pbtok")
    kube.kubectl("create", "serviceaccount", "agent", "-n", ns)
    token = kube.kubectl("create", "token", "agent", "-n", ns, "--audience=varmor-manager").strip()
    assert token.count(".") == 2
    assert kube.kubectl("auth", "can-i", "get", "pods").strip() == "yes"
    assert "system:admin" in kube.kubectl("auth", "whoami")


def test_an_unknown_protobuf_field_is_refused_not_dropped() -> None:
    envelope_type = b"\x0a\x02v1\x12\x09ConfigMap"
    raw = b"\xfa\x01\x01x"  # field 31, length 1
    body = (
        b"k8s\x00" + b"\x0a" + bytes([len(envelope_type)]) + envelope_type + b"\x12" + bytes([len(raw)]) + raw
    )
    with pytest.raises(Exception, match="field 31 of ConfigMap"):
        decode(body)


def test_pointer_fields_keep_an_explicit_zero() -> None:
    assert message(b"\x08\x00", "DeploymentSpec") == {"replicas": 0}
    assert message(b"\x28\x00", "DeploymentSpec") == {}


def test_kubectl_scale_changes_replicas_through_the_scale_subresource(kube: Kube) -> None:
    ns = kube.namespace("scale")
    kube.kubectl("create", "deployment", "web", "-n", ns, "--image=debian:10", "--", "/bin/sh", "-c", SLEEP)
    kube.kubectl("scale", "deployment/web", "-n", ns, "--replicas=2")
    eventually(lambda: kube.apps.read_namespaced_deployment("web", ns).status.ready_replicas == 2, timeout=60)
    scale = kube.apps.read_namespaced_deployment_scale("web", ns)
    assert (scale.spec.replicas, scale.status.replicas, scale.status.selector) == (2, 2, "app=web")
    with pytest.raises(ApiException) as err:
        kube.apps.replace_namespaced_deployment_scale(
            "web", ns, {"spec": {"replicas": -1}, "metadata": {"name": "web"}}
        )
    assert err.value.status == 422


def test_server_side_apply_creates_updates_and_prunes_its_own_fields(kube: Kube) -> None:
    ns = kube.namespace("ssa")
    first = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": ns},
        "data": {"a": "1", "b": "2"},
    }
    out = kube.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(first))
    assert "serverside-applied" in out
    second = {**first, "data": {"a": "3"}}
    kube.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(second))
    assert kube.core.read_namespaced_config_map("cfg", ns).data == {"a": "3"}
    managed = kube.core.read_namespaced_config_map("cfg", ns).metadata.managed_fields
    assert [(m.manager, m.operation) for m in managed] == [("kubectl", "Apply")]


def test_a_collection_delete_removes_what_the_selector_picks(kube: Kube) -> None:
    ns = kube.namespace("coll")
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        kube.core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"tier": tier}}})
    kube.core.delete_collection_namespaced_config_map(ns, label_selector="tier=web")
    left = {c.metadata.name for c in kube.core.list_namespaced_config_map(ns).items}
    assert {"a", "b"}.isdisjoint(left) and "c" in left


def test_a_job_runs_its_pod_to_completion(kube: Kube) -> None:
    ns = kube.namespace("job")
    kube.kubectl("create", "job", "once", "-n", ns, "--image=debian:10", "--", "/bin/sh", "-c", "exit 0")
    batch: Any = client.BatchV1Api(kube.api)
    job = eventually(
        lambda: (j := batch.read_namespaced_job("once", ns)).status.succeeded == 1 and j, timeout=60
    )
    assert [c.type for c in job.status.conditions if c.status == "True"][-1] == "Complete"
    pods = kube.core.list_namespaced_pod(ns, label_selector="job-name=once").items
    assert len(pods) == 1 and pods[0].status.phase == "Succeeded"


def test_a_failing_job_stops_at_its_backoff_limit(kube: Kube) -> None:
    ns = kube.namespace("jobfail")
    container = {"name": "c", "image": "debian:10", "command": ["/bin/sh", "-c", "exit 3"]}
    job = {
        "metadata": {"name": "fails"},
        "spec": {
            "backoffLimit": 1,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }
    batch: Any = client.BatchV1Api(kube.api)
    batch.create_namespaced_job(ns, job)
    done = eventually(
        lambda: (j := batch.read_namespaced_job("fails", ns)).status.conditions and j, timeout=60
    )
    assert done.status.conditions[0].reason == "BackoffLimitExceeded" and done.status.failed == 2


def test_rbac_kinds_are_stored_and_listed(kube: Kube) -> None:
    ns = kube.namespace("rbac")
    kube.kubectl("create", "role", "reader", "-n", ns, "--verb=get,list", "--resource=pods")
    kube.kubectl("create", "rolebinding", "rb", "-n", ns, "--role=reader", f"--serviceaccount={ns}:default")
    rbac: Any = client.RbacAuthorizationV1Api(kube.api)
    role = rbac.read_namespaced_role("reader", ns)
    assert role.rules[0].verbs == ["get", "list"] and role.rules[0].resources == ["pods"]
    binding = rbac.read_namespaced_role_binding("rb", ns)
    assert binding.role_ref.name == "reader" and binding.subjects[0].name == "default"


def test_a_replication_controller_keeps_its_pods(kube: Kube) -> None:
    ns = kube.namespace("rc")
    template = {
        "metadata": {"labels": {"app": "rc"}},
        "spec": {"containers": [{"name": "c", "image": "debian:10", "command": ["/bin/sh", "-c", SLEEP]}]},
    }
    rc = {
        "metadata": {"name": "rc"},
        "spec": {"replicas": 2, "selector": {"app": "rc"}, "template": template},
    }
    kube.core.create_namespaced_replication_controller(ns, rc)
    eventually(
        lambda: kube.core.read_namespaced_replication_controller("rc", ns).status.ready_replicas == 2,
        timeout=60,
    )
    kube.kubectl("scale", "rc/rc", "-n", ns, "--replicas=1")
    eventually(
        lambda: kube.core.read_namespaced_replication_controller("rc", ns).status.replicas == 1, timeout=60
    )


def test_pod_and_service_creates_return_a_status(kube: Kube) -> None:
    ns = kube.namespace("status")
    pod = kube.core.create_namespaced_pod(
        ns, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "debian:10"}]}}
    )
    assert pod.status.phase == "Pending" and pod.status.qos_class == "BestEffort"
    svc = kube.core.create_namespaced_service(
        ns, {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}
    )
    assert svc.status.load_balancer is not None
    assert svc.spec.cluster_ip.startswith("10.") and svc.spec.ports[0].target_port == 80


def test_a_strategic_patch_of_service_ports_merges_on_the_port_number(kube: Kube) -> None:
    ns = kube.namespace("svcpatch")
    spec = {"ports": [{"name": "http", "port": 80}], "selector": {"app": "x"}}
    kube.core.create_namespaced_service(ns, {"metadata": {"name": "s"}, "spec": spec})
    patched = kube.core.patch_namespaced_service(
        "s", ns, {"spec": {"ports": [{"name": "alt", "port": 8080}]}}
    )
    assert sorted(p.port for p in patched.spec.ports) == [80, 8080]


def test_errors_are_written_as_the_real_server_writes_them(kube: Kube) -> None:
    ns = kube.namespace("errors")
    kube.core.create_namespaced_config_map(ns, {"metadata": {"name": "twice"}})
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map(ns, {"metadata": {"name": "twice"}})
    assert err.value.body == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        '"message":"configmaps \\"twice\\" already exists","reason":"AlreadyExists",'
        '"details":{"name":"twice","kind":"configmaps"},"code":409}\n'
    )


def test_kubectl_get_prints_job_cronjob_and_binding_columns(kube: Kube) -> None:
    ns = kube.namespace("cols")
    kube.kubectl(
        "create", "cronjob", "tick", "-n", ns, "--image=debian:10", "--schedule=*/5 * * * *", "--", "true"
    )
    kube.kubectl(
        "create", "rolebinding", "rb", "-n", ns, "--clusterrole=view", f"--serviceaccount={ns}:default"
    )
    assert kube.kubectl("get", "cronjobs", "-n", ns).split("\n")[1].split()[:3] == ["tick", "*/5", "*"]
    assert "ClusterRole/view" in kube.kubectl("get", "rolebindings", "-n", ns)
    kube.kubectl("create", "job", "j", "-n", ns, "--image=debian:10", "--", "/bin/sh", "-c", "exit 0")
    header = kube.kubectl("get", "jobs", "-n", ns).split("\n")[0].split()
    assert header == ["NAME", "STATUS", "COMPLETIONS", "AGE"]


def test_discovery_lists_the_scale_and_token_subresources(kube: Kube) -> None:
    core = {r.name: r for r in kube.core.get_api_resources().resources}
    apps = {r.name: r for r in kube.apps.get_api_resources().resources}
    assert core["serviceaccounts/token"].kind == "TokenRequest"
    assert core["replicationcontrollers/scale"].group == "autoscaling"
    assert apps["deployments/scale"].kind == "Scale" and apps["deployments/scale"].verbs == [
        "get",
        "patch",
        "update",
    ]
