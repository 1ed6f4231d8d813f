"""Controllers record Events; ``kubectl get events`` lists them and ``kubectl describe`` shows them."""

from __future__ import annotations

from localcluster.events import event_for
from tests.localcluster.support import Kube, eventually


def _deployment(name: str) -> dict[str, object]:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }


def _reasons(kube: Kube, ns: str) -> set[str]:
    return {e.reason for e in kube.core.list_namespaced_event(ns).items}


def test_a_deployment_rollout_records_scaling_and_pod_creation_events(kube: Kube) -> None:
    ns = kube.namespace("events")
    kube.apps.create_namespaced_deployment(ns, _deployment("web"))
    eventually(lambda: {"ScalingReplicaSet", "SuccessfulCreate"} <= _reasons(kube, ns))
    out = kube.kubectl("get", "events", "-n", ns)
    header = out.splitlines()[0].split()
    assert header[:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert "deployment/web" in out and "Scaled up replica set web-" in out


def test_describe_shows_the_events_of_the_object(kube: Kube) -> None:
    ns = kube.namespace("events")
    kube.apps.create_namespaced_deployment(ns, _deployment("shown"))
    eventually(lambda: "ScalingReplicaSet" in _reasons(kube, ns))
    out = kube.kubectl("describe", "deployment", "shown", "-n", ns)
    events = out.split("Events:", 1)[1]
    assert "ScalingReplicaSet" in events and "deployment-controller" in events
    assert "<none>" not in events


def test_events_are_selected_by_involved_object(kube: Kube) -> None:
    ns = kube.namespace("events")
    kube.apps.create_namespaced_deployment(ns, _deployment("one"))
    kube.apps.create_namespaced_deployment(ns, _deployment("two"))
    eventually(lambda: len(kube.core.list_namespaced_event(ns).items) >= 4)
    picked = kube.core.list_namespaced_event(ns, field_selector="involvedObject.name=one").items
    assert picked and {e.involved_object.name for e in picked} == {"one"}


def test_a_new_event_names_its_object_and_source() -> None:
    obj = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "namespace": "n", "uid": "u"}}
    event = event_for(
        obj, "Warning", "BackOff", "Back-off restarting", "kubelet", "node-1", "spec.containers{c}"
    )
    assert event["involvedObject"]["fieldPath"] == "spec.containers{c}"
    assert event["source"] == {"component": "kubelet", "host": "node-1"}
    assert event["count"] == 1 and event["metadata"]["name"].startswith("p.")
