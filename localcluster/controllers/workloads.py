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
from localcluster.controllers import rollouts
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
    async def _new_replicaset(self, dep: Obj, owned_rs: list[Obj]) -> Obj:
        """The ReplicaSet of the current template: an existing one (re-numbered) or a new one."""
        spec, ns = dep.get("spec", {}), dep["metadata"]["namespace"]
        rs_res = self.api.res("apps", "replicasets")
        top = max((rollouts.revision(r) for r in owned_rs), default=0)
        current = next((r for r in owned_rs if rollouts.same_template(r, dep)), None)
        if current is not None:
            if rollouts.revision(current) != top or top == 0:
                annotations = {
                    **(current["metadata"].get("annotations") or {}),
                    rollouts.REVISION: str(top + 1),
                }
                md = {**current["metadata"], "annotations": annotations}
                return await self.api.update(rs_res, ns, md["name"], {**current, "metadata": md}, admit=False)
            return current
        h = template_hash(rollouts.normalized_template(spec.get("template", {})))
        tmpl = copy.deepcopy(spec.get("template", {}))
        tmpl.setdefault("metadata", {}).setdefault("labels", {})[rollouts.HASH_LABEL] = h
        sel = copy.deepcopy(spec.get("selector", {}))
        sel.setdefault("matchLabels", {})[rollouts.HASH_LABEL] = h
        md = {
            "name": f"{dep['metadata']['name']}-{h}",
            "labels": tmpl["metadata"]["labels"],
            "ownerReferences": [owner_ref(dep)],
            "annotations": {rollouts.REVISION: str(top + 1)},
        }
        rs = {"metadata": md, "spec": {"replicas": 0, "selector": sel, "template": tmpl}}
        return await self.api.create(rs_res, ns, rs)

    def _state(self, rs: Obj) -> rollouts.ReplicaSetState:
        pods = self._pods(rs["metadata"]["namespace"], rs["metadata"]["uid"])
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        return rollouts.ReplicaSetState(
            rs["metadata"]["name"],
            rs["spec"].get("replicas", 1),
            sum(1 for p in live if is_ready(p)),
            len(live),
            rollouts.revision(rs),
        )

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
        owned_rs = owned(self.api.store.list(rs_res, ns), dep["metadata"]["uid"])
        new_rs = await self._new_replicaset(dep, owned_rs)
        old_rs = [r for r in owned_rs if r["metadata"]["name"] != new_rs["metadata"]["name"]]
        all_pods = [p for r in [*old_rs, new_rs] for p in self._pods(ns, r["metadata"]["uid"])]
        terminating = sum(1 for p in all_pods if p["metadata"].get("deletionTimestamp"))
        if not dep.get("spec", {}).get("paused"):
            steps = rollouts.plan(dep, self._state(new_rs), [self._state(r) for r in old_rs], terminating)
            for rs in [new_rs, *old_rs]:
                if rs["metadata"]["name"] in steps:
                    await self._scale(dep, rs, steps[rs["metadata"]["name"]])
        await self._deployment_status(dep, new_rs, old_rs)

    async def _deployment_status(self, dep: Obj, new_rs: Obj, old_rs: list[Obj]) -> None:
        states = [self._state(new_rs)] + [self._state(r) for r in old_rs]
        replicas = dep.get("spec", {}).get("replicas", 1)
        total, available = sum(s.pods for s in states), sum(s.available for s in states)
        done = states[0].pods == replicas == total and states[0].available == replicas
        _, max_unavailable = rollouts.limits(dep)
        status = {
            "observedGeneration": dep["metadata"]["generation"],
            "replicas": total,
            "updatedReplicas": states[0].pods,
            "readyReplicas": available,
            "availableReplicas": available,
            "unavailableReplicas": max(0, replicas - available),
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if available >= replicas - max_unavailable else "False",
                    "reason": "MinimumReplicasAvailable",
                    "message": "Deployment has minimum availability.",
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                    "message": f'ReplicaSet "{new_rs["metadata"]["name"]}" '
                    + ("has successfully progressed." if done else "is progressing."),
                },
            ],
        }
        status = {k: v for k, v in status.items() if v != 0 or k == "observedGeneration"}
        await self._set_status("apps", "deployments", dep, status)
        await self._note_revision(dep, new_rs)

    async def _note_revision(self, dep: Obj, new_rs: Obj) -> None:
        """The Deployment carries its new ReplicaSet's revision annotation, as kubectl expects."""
        rev = str(rollouts.revision(new_rs))
        current = self._get("apps", "deployments", dep["metadata"]["namespace"], dep["metadata"]["name"])
        if current is None or (current["metadata"].get("annotations") or {}).get(rollouts.REVISION) == rev:
            return
        md = {
            **current["metadata"],
            "annotations": {**(current["metadata"].get("annotations") or {}), rollouts.REVISION: rev},
        }
        await self.api.update(
            self.api.res("apps", "deployments"),
            md["namespace"],
            md["name"],
            {**current, "metadata": md},
            admit=False,
        )

    # ---- ReplicaSet and ReplicationController
    async def replicaset(self, ns: str, name: str) -> None:
        await self._replicas("apps", "replicasets", ns, name)

    async def replicationcontroller(self, ns: str, name: str) -> None:
        await self._replicas("", "replicationcontrollers", ns, name)

    async def _replicas(self, group: str, plural: str, ns: str, name: str) -> None:
        rs = self._get(group, plural, ns, name)
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
        # As the real controller: not-ready pods go first, then the newest.
        doomed = sorted(live, key=lambda p: (is_ready(p), p["metadata"]["creationTimestamp"]), reverse=True)
        doomed = sorted(doomed, key=is_ready)
        for pod in doomed[: max(0, len(live) - want)]:
            await self._delete_pod(pod, rs)
        pods = [
            p for p in self._pods(ns, rs["metadata"]["uid"]) if not p["metadata"].get("deletionTimestamp")
        ]
        ready = sum(1 for p in pods if is_ready(p))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"]["generation"],
        }
        await self._set_status(group, plural, rs, status)

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
