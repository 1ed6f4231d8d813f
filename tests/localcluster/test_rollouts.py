"""Deployments roll out as RollingUpdate says, ``rollout undo`` re-uses the old ReplicaSet, pods terminate."""

from __future__ import annotations

import threading
import time
from typing import Any

from localcluster.controllers.rollouts import ReplicaSetState, plan
from tests.localcluster.support import Kube, eventually

SLEEP = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]


def _dep(replicas: int, surge: Any, unavailable: Any, strategy: str = "RollingUpdate") -> dict[str, Any]:
    rolling = {"maxSurge": surge, "maxUnavailable": unavailable}
    kind = {"type": strategy, **({"rollingUpdate": rolling} if strategy == "RollingUpdate" else {})}
    return {"spec": {"replicas": replicas, "strategy": kind}}


def test_a_rolling_update_surges_first_when_no_pod_may_be_unavailable() -> None:
    new, old = ReplicaSetState("new", 0, 0, 0, 2), ReplicaSetState("old", 4, 4, 4, 1)
    assert plan(_dep(4, 1, 0), new, [old], 0) == {"new": 1}
    surged = ReplicaSetState("new", 1, 1, 1, 2)
    assert plan(_dep(4, 1, 0), surged, [old], 0) == {"old": 3}


def test_a_rolling_update_removes_old_pods_first_when_it_may_not_surge() -> None:
    new, old = ReplicaSetState("new", 0, 0, 0, 2), ReplicaSetState("old", 4, 4, 4, 1)
    assert plan(_dep(4, 0, 1), new, [old], 0) == {"old": 3}
    assert plan(_dep(4, 0, 1), new, [ReplicaSetState("old", 3, 3, 3, 1)], 0) == {"new": 1}


def test_percentages_round_surge_up_and_unavailability_down() -> None:
    new, old = ReplicaSetState("new", 0, 0, 0, 2), ReplicaSetState("old", 3, 3, 3, 1)
    assert plan(_dep(3, "25%", "25%"), new, [old], 0) == {"new": 1}


def test_recreate_starts_new_pods_only_when_the_old_are_gone() -> None:
    new, old = ReplicaSetState("new", 0, 0, 0, 2), ReplicaSetState("old", 2, 2, 2, 1)
    assert plan(_dep(2, 0, 0, "Recreate"), new, [old], 0) == {"old": 0}
    gone = ReplicaSetState("old", 0, 0, 0, 1)
    assert plan(_dep(2, 0, 0, "Recreate"), new, [gone], 1) == {}
    assert plan(_dep(2, 0, 0, "Recreate"), new, [gone], 0) == {"new": 2}


def _deployment(name: str, image: str) -> dict[str, Any]:
    labels = {"app": name}
    container = {"name": "c", "image": image, "command": SLEEP}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 5},
            },
        },
    }


def _watch_pods(kube: Kube, ns: str, seen: list[list[tuple[str, bool]]], stop: threading.Event) -> None:
    while not stop.is_set():
        pods = kube.core.list_namespaced_pod(ns).items
        seen.append(
            [(p.metadata.labels["pod-template-hash"], bool(p.metadata.deletion_timestamp)) for p in pods]
        )
        time.sleep(0.02)


def _updated(kube: Kube, ns: str, name: str) -> bool:
    dep = kube.apps.read_namespaced_deployment(name, ns)
    st = dep.status
    return bool(st.updated_replicas == 3 and st.replicas == 3 and st.available_replicas == 3) and (
        st.observed_generation == dep.metadata.generation
    )


def test_a_rolling_update_keeps_old_pods_beside_new_ones_within_max_surge(kube: Kube) -> None:
    ns = kube.namespace("roll")
    kube.apps.create_namespaced_deployment(ns, _deployment("web", "debian:10"))
    eventually(lambda: _updated(kube, ns, "web"), timeout=60)
    first = {p.metadata.labels["pod-template-hash"] for p in kube.core.list_namespaced_pod(ns).items}
    seen: list[list[tuple[str, bool]]] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_pods, args=(kube, ns, seen, stop))
    watcher.start()
    try:
        patch = {"spec": {"template": {"metadata": {"annotations": {"rev": "2"}}}}}
        kube.apps.patch_namespaced_deployment("web", ns, patch)
        eventually(
            lambda: _updated(kube, ns, "web") and len(kube.core.list_namespaced_pod(ns).items) == 3,
            timeout=90,
        )
    finally:
        stop.set()
        watcher.join()
    live_counts = [sum(1 for _, gone in snap if not gone) for snap in seen]
    assert max(live_counts) <= 4, "more live pods than replicas + maxSurge"
    assert any({h for h, _ in snap} - first and {h for h, _ in snap} & first for snap in seen), (
        "old and new pods never ran side by side"
    )
    out = kube.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=30s")
    assert "successfully rolled out" in out


def test_rollout_undo_reuses_the_previous_replica_set(kube: Kube) -> None:
    ns = kube.namespace("undo")
    kube.apps.create_namespaced_deployment(ns, _deployment("app", "debian:10"))
    eventually(lambda: _updated(kube, ns, "app"), timeout=60)
    kube.kubectl("set", "image", "deployment/app", "c=debian:11", "-n", ns)
    eventually(lambda: _updated(kube, ns, "app"), timeout=90)
    kube.kubectl("rollout", "undo", "deployment/app", "-n", ns)
    eventually(
        lambda: (
            _updated(kube, ns, "app")
            and kube.apps.read_namespaced_deployment("app", ns).spec.template.spec.containers[0].image
            == "debian:10"
        ),
        timeout=90,
    )
    sets = kube.apps.list_namespaced_replica_set(ns).items
    assert len(sets) == 2
    revisions = {
        r.spec.template.spec.containers[0].image: r.metadata.annotations["deployment.kubernetes.io/revision"]
        for r in sets
    }
    assert revisions == {"debian:10": "3", "debian:11": "2"}
    assert "3" in kube.kubectl("rollout", "history", "deployment/app", "-n", ns)


def test_a_deleted_pod_shows_terminating_during_its_grace_period(kube: Kube) -> None:
    ns = kube.namespace("grace")
    container = {
        "name": "c",
        "image": "debian:10",
        "command": ["/bin/sh", "-c", "trap '' TERM; sleep infinity"],
    }
    kube.core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": "slow"},
            "spec": {"containers": [container], "terminationGracePeriodSeconds": 3},
        },
    )
    eventually(lambda: kube.core.read_namespaced_pod("slow", ns).status.phase == "Running", timeout=30)
    kube.kubectl("delete", "pod", "slow", "-n", ns, "--wait=false")
    assert "Terminating" in kube.kubectl("get", "pod", "slow", "-n", ns)
    eventually(lambda: not kube.core.list_namespaced_pod(ns).items, timeout=30)
