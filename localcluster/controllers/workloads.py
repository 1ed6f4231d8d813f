"""Workload reconcilers: Deployment → ReplicaSet → Pods, StatefulSet and DaemonSet.

A Deployment owns one ReplicaSet per pod-template hash (``<name>-<hash>``, labels
``pod-template-hash``, annotation ``deployment.kubernetes.io/revision``); a template change creates a
new ReplicaSet and scales the old ones to 0 (a Recreate-like rollout). StatefulSets own
``<name>-<i>`` pods and DaemonSets one pod per node, both replaced when the template revision changes.
Pods are created through admission, as the real controllers' pods are; a denial becomes a
``FailedCreate`` Event.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
from typing import Any

from localcluster.apiserver import ApiServer
from localcluster.errors import ApiError
from localcluster.events import Recorder
from localcluster.storage import Obj

log = logging.getLogger(__name__)


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def owner_ref(obj: Obj) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owned(objs: list[Obj], uid: str) -> list[Obj]:
    return [
        o
        for o in objs
        if any(
            r.get("uid") == uid and r.get("controller") for r in o["metadata"].get("ownerReferences") or []
        )
    ]


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions") or []
    )


def pod_from_template(
    template: Obj,
    owner: Obj,
    name: str | None = None,
    generate: str | None = None,
    labels: dict[str, str] | None = None,
) -> Obj:
    """The Pod a controller creates from ``template`` for ``owner`` (pure)."""
    t = copy.deepcopy(template)
    md = t.get("metadata") or {}
    md.pop("name", None)
    md.setdefault("labels", {}).update(labels or {})
    md["ownerReferences"] = [owner_ref(owner)]
    if generate:
        md["generateName"] = generate
    if name:
        md["name"] = name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": t.get("spec") or {}}


class Workloads:
    """The reconcilers; ``nodes`` are the simulated node names (for DaemonSets)."""

    def __init__(self, api: ApiServer, nodes: list[str]) -> None:
        self.api = api
        self.nodes = nodes
        self.events = Recorder(api, "deployment-controller")
        self.rs_events = Recorder(api, "replicaset-controller")

    def _get(self, group: str, plural: str, ns: str, name: str) -> Obj | None:
        obj = self.api.store.find(self.api.res(group, plural), ns, name)
        return None if obj is None or obj["metadata"].get("deletionTimestamp") else obj

    def _pods(self, ns: str, uid: str) -> list[Obj]:
        return owned(self.api.store.list(self.api.res("", "pods"), ns), uid)

    async def _set_status(self, group: str, plural: str, obj: Obj, status: Obj) -> None:
        if obj.get("status") != status:
            new = {**obj, "status": status}
            await self.api.update(
                self.api.res(group, plural),
                obj["metadata"].get("namespace"),
                obj["metadata"]["name"],
                new,
                sub="status",
                admit=False,
            )

    async def _create_pod(self, ns: str, pod: Obj, owner: Obj) -> None:
        user = f"system:serviceaccount:kube-system:{owner['kind'].lower()}-controller"
        try:
            created = await self.api.create(self.api.res("", "pods"), ns, pod, user=user)
        except ApiError as e:
            log.warning("Failed to create pod owner=%s/%s error=%s", ns, owner["metadata"]["name"], e.message)
            await self.rs_events.record(owner, "Warning", "FailedCreate", f"Error creating: {e.message}")
            return
        message = f"Created pod: {created['metadata']['name']}"
        await self.rs_events.record(owner, "Normal", "SuccessfulCreate", message)

    async def _delete_pod(self, pod: Obj, owner: Obj | None = None) -> None:
        with contextlib.suppress(ApiError):
            await self.api.delete(
                self.api.res("", "pods"), pod["metadata"]["namespace"], pod["metadata"]["name"]
            )
            if owner is not None:
                message = f"Deleted pod: {pod['metadata']['name']}"
                await self.rs_events.record(owner, "Normal", "SuccessfulDelete", message)

    # ---- Deployment
    async def _ensure_replicaset(self, dep: Obj, owned_rs: list[Obj], want: str, h: str) -> None:
        spec, ns = dep.get("spec", {}), dep["metadata"]["namespace"]
        rs_res = self.api.res("apps", "replicasets")
        current = next((r for r in owned_rs if r["metadata"]["name"] == want), None)
        if current is None:
            tmpl = copy.deepcopy(spec.get("template", {}))
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            sel = copy.deepcopy(spec.get("selector", {}))
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            revs = [
                int(r["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0"))
                for r in owned_rs
            ]
            md = {
                "name": want,
                "labels": tmpl["metadata"]["labels"],
                "ownerReferences": [owner_ref(dep)],
                "annotations": {"deployment.kubernetes.io/revision": str(1 + max(revs or [0]))},
            }
            rs = {
                "metadata": md,
                "spec": {"replicas": spec.get("replicas", 1), "selector": sel, "template": tmpl},
            }
            created = await self.api.create(rs_res, ns, {**rs, "spec": {**rs["spec"], "replicas": 0}})
            await self._scale(dep, created, spec.get("replicas", 1))
        elif current["spec"].get("replicas") != spec.get("replicas", 1):
            await self._scale(dep, current, spec.get("replicas", 1))
        for r in owned_rs:
            if r["metadata"]["name"] != want and r["spec"].get("replicas", 1) != 0:
                await self._scale(dep, r, 0)

    async def _scale(self, dep: Obj, rs: Obj, replicas: int) -> None:
        """Set a ReplicaSet's replicas and record the Deployment's ScalingReplicaSet event."""
        before = rs["spec"].get("replicas", 1)
        if before == replicas:
            return
        await self.api.update(
            self.api.res("apps", "replicasets"),
            rs["metadata"]["namespace"],
            rs["metadata"]["name"],
            {**rs, "spec": {**rs["spec"], "replicas": replicas}},
        )
        direction = "up" if replicas > before else "down"
        message = f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {replicas}"
        await self.events.record(dep, "Normal", "ScalingReplicaSet", message)

    async def deployment(self, ns: str, name: str) -> None:
        dep = self._get("apps", "deployments", ns, name)
        if dep is None:
            return
        rs_res = self.api.res("apps", "replicasets")
        h = template_hash(dep.get("spec", {}).get("template", {}))
        await self._ensure_replicaset(
            dep, owned(self.api.store.list(rs_res, ns), dep["metadata"]["uid"]), f"{name}-{h}", h
        )
        replicas = dep.get("spec", {}).get("replicas", 1)
        pods = [
            p
            for r in owned(self.api.store.list(rs_res, ns), dep["metadata"]["uid"])
            for p in self._pods(ns, r["metadata"]["uid"])
        ]
        new = [p for p in pods if p["metadata"].get("labels", {}).get("pod-template-hash") == h]
        ready = sum(1 for p in pods if is_ready(p))
        progressing = (
            "ReplicaSetUpdated" if len(pods) > replicas or len(new) < replicas else "NewReplicaSetAvailable"
        )
        status = {
            "observedGeneration": dep["metadata"]["generation"],
            "replicas": len(pods),
            "updatedReplicas": len(new),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if ready >= replicas else "False",
                    "reason": "MinimumReplicasAvailable",
                },
                {"type": "Progressing", "status": "True", "reason": progressing},
            ],
        }
        await self._set_status("apps", "deployments", dep, status)

    # ---- ReplicaSet
    async def replicaset(self, ns: str, name: str) -> None:
        rs = self._get("apps", "replicasets", ns, name)
        if rs is None:
            return
        want = rs.get("spec", {}).get("replicas", 1)
        live = [
            p for p in self._pods(ns, rs["metadata"]["uid"]) if not p["metadata"].get("deletionTimestamp")
        ]
        for _ in range(want - len(live)):
            await self._create_pod(
                ns, pod_from_template(rs["spec"].get("template", {}), rs, generate=f"{name}-"), rs
            )
        newest_first = sorted(live, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)
        for pod in newest_first[: max(0, len(live) - want)]:
            await self._delete_pod(pod, rs)
        pods = self._pods(ns, rs["metadata"]["uid"])
        ready = sum(1 for p in pods if is_ready(p))
        await self._set_status(
            "apps",
            "replicasets",
            rs,
            {
                "replicas": len(pods),
                "fullyLabeledReplicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "observedGeneration": rs["metadata"]["generation"],
            },
        )

    # ---- StatefulSet and DaemonSet
    async def _replace_outdated(self, obj: Obj, revision: str) -> list[Obj]:
        ns, uid = obj["metadata"]["namespace"], obj["metadata"]["uid"]
        for pod in self._pods(ns, uid):
            if pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision:
                await self._delete_pod(pod)
        return self._pods(ns, uid)

    async def statefulset(self, ns: str, name: str) -> None:
        sts = self._get("apps", "statefulsets", ns, name)
        if sts is None:
            return
        spec = sts.get("spec", {})
        rev = f"{name}-{template_hash(spec.get('template', {}))}"
        names = {p["metadata"]["name"] for p in await self._replace_outdated(sts, rev)}
        for i in range(spec.get("replicas", 1)):
            if f"{name}-{i}" not in names:
                labels = {
                    "controller-revision-hash": rev,
                    "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
                }
                await self._create_pod(
                    ns,
                    pod_from_template(spec.get("template", {}), sts, name=f"{name}-{i}", labels=labels),
                    sts,
                )
        pods = self._pods(ns, sts["metadata"]["uid"])
        ready = sum(1 for p in pods if is_ready(p))
        await self._set_status(
            "apps",
            "statefulsets",
            sts,
            {
                "replicas": len(pods),
                "readyReplicas": ready,
                "currentReplicas": len(pods),
                "updatedReplicas": len(pods),
                "availableReplicas": ready,
                "currentRevision": rev,
                "updateRevision": rev,
                "observedGeneration": sts["metadata"]["generation"],
            },
        )

    async def daemonset(self, ns: str, name: str) -> None:
        ds = self._get("apps", "daemonsets", ns, name)
        if ds is None:
            return
        template = ds.get("spec", {}).get("template", {})
        rev = f"{name}-{template_hash(template)}"
        have = {p.get("spec", {}).get("nodeName") for p in await self._replace_outdated(ds, rev)}
        for node in self.nodes:
            if node not in have:
                pod = pod_from_template(
                    template, ds, generate=f"{name}-", labels={"controller-revision-hash": rev}
                )
                pod["spec"]["nodeName"] = node
                await self._create_pod(ns, pod, ds)
        pods = self._pods(ns, ds["metadata"]["uid"])
        ready = sum(1 for p in pods if is_ready(p))
        await self._set_status(
            "apps",
            "daemonsets",
            ds,
            {
                "desiredNumberScheduled": len(self.nodes),
                "currentNumberScheduled": len(pods),
                "numberReady": ready,
                "updatedNumberScheduled": len(pods),
                "numberAvailable": ready,
                "numberMisscheduled": 0,
                "observedGeneration": ds["metadata"]["generation"],
            },
        )
