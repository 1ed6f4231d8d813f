"""Controllers and the plumbing kinds: StatefulSet, DaemonSet, ownerReference GC, finalizers,
namespaces, Leases, Secrets, ConfigMaps, Services, Events, Nodes, and Pod defaulting."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from localcluster.defaults import default_object
from tests.localcluster.support import Kube, eventually, running_pods

SLEEP = {"containers": [{"name": "c", "image": "debian:10", "command": ["/bin/sh", "-c", "sleep infinity"]}]}


def workload(kind: str, name: str, replicas: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": SLEEP},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def gone(read: Any, *args: str) -> bool:
    try:
        read(*args)
    except ApiException as e:
        return bool(e.status == 404)
    return False


def test_a_statefulset_runs_ordinal_pods(kube: Kube) -> None:
    ns = kube.namespace("sts")
    kube.apps.create_namespaced_stateful_set(ns, workload("StatefulSet", "db", 2))
    pods = eventually(lambda: running_pods(kube, ns, "app=db", 2))
    assert sorted(p.metadata.name for p in pods) == ["db-0", "db-1"]


def test_a_daemonset_runs_one_pod_per_node(kube: Kube) -> None:
    ns = kube.namespace("ds")
    kube.apps.create_namespaced_daemon_set(ns, workload("DaemonSet", "agent"))
    pods = eventually(lambda: running_pods(kube, ns, "app=agent", 2))
    assert sorted(p.spec.node_name for p in pods) == ["node-1", "node-2"]
    eventually(lambda: kube.apps.read_namespaced_daemon_set("agent", ns).status.number_ready == 2)


def test_deleting_a_deployment_collects_its_replicasets_and_pods(kube: Kube) -> None:
    ns = kube.namespace("gc")
    kube.apps.create_namespaced_deployment(ns, workload("Deployment", "web", 2))
    eventually(lambda: running_pods(kube, ns, "app=web", 2))
    kube.apps.delete_namespaced_deployment("web", ns)
    eventually(
        lambda: (
            not kube.apps.list_namespaced_replica_set(ns).items
            and not kube.core.list_namespaced_pod(ns).items
        )
    )


def test_a_finalizer_holds_deletion_until_it_is_removed(kube: Kube) -> None:
    ns = kube.namespace("fin")
    kube.core.create_namespaced_config_map(ns, {"metadata": {"name": "held", "finalizers": ["varmor.org/x"]}})
    kube.core.delete_namespaced_config_map("held", ns)
    assert kube.core.read_namespaced_config_map("held", ns).metadata.deletion_timestamp
    kube.core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    assert gone(kube.core.read_namespaced_config_map, "held", ns)


def test_deleting_a_namespace_deletes_its_objects(kube: Kube) -> None:
    ns = kube.namespace("nsgc")
    kube.core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    kube.core.delete_namespace(ns)
    eventually(lambda: gone(kube.core.read_namespaced_secret, "s", ns))


def test_leases_conflict_on_a_stale_resource_version(kube: Kube) -> None:
    ns = kube.namespace("lease")
    lease = kube.coordination.create_namespaced_lease(
        ns, {"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a"}}
    )
    lease.spec.holder_identity = "b"
    kube.coordination.replace_namespaced_lease("leader", ns, lease)
    lease.spec.holder_identity = "c"
    with pytest.raises(ApiException) as err:
        kube.coordination.replace_namespaced_lease("leader", ns, lease)
    assert err.value.status == 409


def test_plumbing_kinds_round_trip(kube: Kube) -> None:
    ns = kube.namespace("kinds")
    kube.core.create_namespaced_config_map(ns, {"metadata": {"name": "cm"}, "data": {"k": "v"}})
    kube.core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "data": {"k": "dg=="}})
    kube.core.create_namespaced_service(ns, {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}})
    kube.core.create_namespaced_event(
        ns,
        {
            "metadata": {"name": "e"},
            "reason": "Tested",
            "message": "m",
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns},
        },
    )
    assert kube.core.read_namespaced_config_map("cm", ns).data == {"k": "v"}
    assert kube.core.read_namespaced_secret("s", ns).data == {"k": "dg=="}
    assert kube.core.read_namespaced_service("svc", ns).spec.ports[0].port == 80
    assert kube.core.read_namespaced_event("e", ns).reason == "Tested"
    assert [n.metadata.name for n in kube.core.list_node().items] == ["node-1", "node-2"]


def test_pods_are_defaulted_before_admission(kube: Kube) -> None:
    ns = kube.namespace("defaults")
    pod = kube.core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": "p"},
            "spec": {
                "containers": [
                    {"name": "c", "image": "debian", "command": ["/bin/sh", "-c", "sleep infinity"]}
                ]
            },
        },
    )
    spec = pod.spec
    assert (spec.restart_policy, spec.dns_policy, spec.service_account_name) == (
        "Always",
        "ClusterFirst",
        "default",
    )
    assert spec.security_context is not None
    assert spec.containers[0].image_pull_policy == "Always"
    assert spec.containers[0].termination_message_path == "/dev/termination-log"


def test_defaulting_keeps_values_that_are_set() -> None:
    pod = {"kind": "Pod", "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x:1"}]}}
    out = default_object(pod)
    assert out["spec"]["restartPolicy"] == "Never"
    assert out["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert (
        "restartPolicy"
        in default_object({"kind": "Deployment", "spec": {"template": {}}})["spec"]["template"]["spec"]
    )
