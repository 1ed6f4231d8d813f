"""The API server's verbs over the store: create, update, patch and delete with the real semantics.

Server-set metadata, generateName, namespace checks, optimistic concurrency (409 on a stale
resourceVersion), no-op writes that keep the resourceVersion, ``generation`` bumps on spec changes,
status-subresource rules, defaulting then mutating then validating admission, finalizers and
graceful pod deletion, CRD registration. The HTTP layer (``handlers``) and the controllers call it.
"""

from __future__ import annotations

import copy
import datetime
import random
import uuid
from typing import Any

from localcluster import admission, applying, creation, defaults, scaling, tokens
from localcluster.errors import ApiError, bad_request, conflict
from localcluster.patches import apply_patch
from localcluster.resources import Registry, Resource, crd_resources
from localcluster.selectors import FieldReq, LabelReq
from localcluster.storage import Obj, Store

ADMIN = "system:admin"
_SERVER_META = (
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "name",
    "namespace",
)


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


class ApiServer:
    """Verbs of the API; ``graceful_pods`` is set when kubelets finish pod deletions."""

    def __init__(self, store: Store, registry: Registry, webhooks: admission.WebhookClient) -> None:
        self.store = store
        self.registry = registry
        self.webhooks = webhooks
        self.graceful_pods = False
        self.authority: tokens.Authority | None = None  # set by the cluster; kubelets sign pod tokens

    def res(self, group: str, plural: str) -> Resource:
        return self.registry.by_key(group, plural)

    # ---- create
    def _prepare_create(self, res: Resource, namespace: str | None, body: Any) -> Obj:
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise bad_request("the body must be an object with metadata")
        obj = copy.deepcopy(body)
        md = obj.setdefault("metadata", {})
        if res.namespaced:
            if md.get("namespace") not in (None, "", namespace):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            md["namespace"] = namespace
            if self.store.find(self.res("", "namespaces"), None, namespace or "") is None:
                raise ApiError(
                    404,
                    "NotFound",
                    f'namespaces "{namespace}" not found',
                    {"name": namespace, "kind": "namespaces"},
                )
        else:
            md.pop("namespace", None)
        obj["apiVersion"], obj["kind"] = res.group_version, res.kind
        return defaults.default_object(obj)

    def _server_fields(self, res: Resource, obj: Obj) -> None:
        md = obj["metadata"]
        md.update(uid=str(uuid.uuid4()), creationTimestamp=now_iso(), generation=1)
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            md.pop(key, None)
        if res.status and res.plural not in ("nodes", "customresourcedefinitions"):
            obj.pop("status", None)
        creation.complete(res.key, obj, self._used_cluster_ips())
        if res.plural == "namespaces":
            obj.setdefault("status", {})["phase"] = "Active"
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
        if res.plural == "customresourcedefinitions":
            self._register_crd(obj)

    async def create(
        self, res: Resource, namespace: str | None, body: Any, admit: bool = True, user: str = ADMIN
    ) -> Obj:
        obj = self._prepare_create(res, namespace, body)
        if admit:
            obj = await self.admit(res, "CREATE", obj, None, user)
        md = obj["metadata"]
        if not md.get("name"):
            if not md.get("generateName"):
                raise ApiError(
                    422,
                    "Invalid",
                    f"{res.kind} is invalid: metadata.name: Required value: name or generateName is required",
                )
            md["name"] = md["generateName"] + random_suffix()
        if self.store.find(res, md.get("namespace"), md["name"]) is not None:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{res.group_resource} "{md["name"]}" already exists',
                {"name": md["name"], "group": res.group, "kind": res.plural},
            )
        self._server_fields(res, obj)
        return self.store.commit(res, "ADDED", None, obj)

    # ---- update
    def _candidate(self, res: Resource, old: Obj, new: Any, sub: str | None, fresh: bool = False) -> Obj:
        if not isinstance(new, dict):
            raise bad_request("body must be an object")
        cand = new if fresh else copy.deepcopy(new)  # a request's own parsed body is nobody else's
        md = cand.setdefault("metadata", {})
        if sub == "status":  # the rest of ``old`` is shared, not copied: ``commit`` stores a deep copy
            merged = {k: v for k, v in old.items() if k != "status"}
            merged["metadata"] = copy.deepcopy(old["metadata"])
            if "status" in cand:
                merged["status"] = cand["status"]
            return merged
        if sub is not None:
            raise ApiError(404, "NotFound", f"the server could not find the subresource {sub!r}")
        cand.pop("status", None)
        if res.status and "status" in old:
            cand["status"] = copy.deepcopy(old["status"])
        elif not res.status and "status" in new:
            cand["status"] = copy.deepcopy(new["status"])
        for key in _SERVER_META:
            if key in old["metadata"]:
                md[key] = old["metadata"][key]
            else:
                md.pop(key, None)
        cand["apiVersion"], cand["kind"] = res.group_version, res.kind
        return defaults.default_object(cand)

    def _spec(self, res: Resource, obj: Obj) -> Any:
        if res.builtin:
            return obj.get("spec")
        return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}

    async def update(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        new: Any,
        sub: str | None = None,
        admit: bool = True,
        user: str = ADMIN,
        fresh: bool = False,
    ) -> Obj:
        """Replace an object (or its ``sub``resource); ``fresh``: ``new`` was parsed for this call
        alone (a request body), so it is changed in place rather than copied first."""
        old = self.store.get(res, namespace, name)
        if isinstance(new, dict) and (new.get("metadata") or {}).get("name", name) != name:
            raise bad_request("the name of the object does not match the name on the URL")
        wanted = (new.get("metadata") or {}).get("resourceVersion") if isinstance(new, dict) else None
        if wanted and wanted != old["metadata"]["resourceVersion"]:
            raise conflict(res.group, res.plural, name)
        cand = self._candidate(res, old, new, sub, fresh)
        if admit and sub is None:
            cand = await self.admit(res, "UPDATE", cand, old, user)
        cand["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if cand == old:
            return old
        if sub is None and self._spec(res, cand) != self._spec(res, old):
            cand["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        if res.plural == "customresourcedefinitions":
            self._register_crd(cand)
        md = cand["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers") and not self._awaits_kubelet(res, cand):
            return self._remove(res, cand)
        return self.store.commit(res, "MODIFIED", old, cand)

    def _used_cluster_ips(self) -> set[str]:
        services = self.store.objects[("", "services")].values()
        return {ip for svc in services for ip in (svc.get("spec") or {}).get("clusterIPs") or []}

    async def apply(
        self, res: Resource, namespace: str | None, name: str, raw: bytes, manager: str, user: str = ADMIN
    ) -> tuple[Obj, bool]:
        """Server-side apply; returns (object, created)."""
        config = applying.parse_config(raw, name)
        live = self.store.find(res, namespace, name)
        new = applying.apply(live, config, manager, res.builtin, now_iso())
        if live is None:
            new["metadata"]["name"] = name
            return await self.create(res, namespace, new, user=user), True
        new["metadata"].pop("resourceVersion", None)
        return await self.update(res, namespace, name, new, user=user), False

    def scale(self, res: Resource, namespace: str | None, name: str) -> Obj:
        if res.key not in scaling.SCALABLE:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return scaling.scale_of(res, self.store.get(res, namespace, name))

    async def rescale(
        self, res: Resource, namespace: str | None, name: str, scale: Any, user: str = ADMIN
    ) -> Obj:
        """Write a Scale: the workload's replicas change; the answer is the new Scale."""
        self.scale(res, namespace, name)
        new = scaling.with_replicas(self.store.get(res, namespace, name), scale)
        return scaling.scale_of(res, await self.update(res, namespace, name, new, user=user))

    async def delete_collection(
        self,
        res: Resource,
        namespace: str | None,
        selection: tuple[list[LabelReq], list[FieldReq]],
        propagation: str = "Background",
        grace: int | None = None,
    ) -> list[Obj]:
        """Delete every object the selectors pick; returns them as deleted or marked."""
        out = []
        for obj in self.store.list(res, namespace, *selection):
            md = obj["metadata"]
            try:
                deleted, _ = await self.delete(res, md.get("namespace"), md["name"], propagation, grace)
            except ApiError as e:
                if e.code == 404:
                    continue
                raise
            out.append(deleted)
        return out

    async def patch(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        content_type: str | None,
        raw: bytes,
        sub: str | None = None,
        user: str = ADMIN,
    ) -> Obj:
        old = self.store.get(res, namespace, name)
        new = apply_patch(old, content_type, raw, res.builtin)
        if (new.get("metadata") or {}).get("resourceVersion") == old["metadata"]["resourceVersion"]:
            new["metadata"].pop("resourceVersion", None)
        return await self.update(res, namespace, name, new, sub=sub, user=user)

    # ---- delete
    def _awaits_kubelet(self, res: Resource, obj: Obj) -> bool:
        """A pod bound to a node stays (terminating) until its kubelet has stopped it."""
        return (
            self.graceful_pods
            and res.plural == "pods"
            and bool(obj.get("spec", {}).get("nodeName"))
            and obj["metadata"].get("deletionGracePeriodSeconds") != 0
        )

    async def delete(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        propagation: str = "Background",
        grace: int | None = None,
    ) -> tuple[Obj, bool]:
        """Delete or mark for deletion; returns (object, gone)."""
        old = self.store.get(res, namespace, name)
        md = old["metadata"]
        if md.get("deletionTimestamp"):
            if grace == 0 and res.plural == "pods" and not md.get("finalizers"):
                return self._remove(res, old), True
            return old, False
        if propagation == "Orphan":
            self._orphan(md["uid"])
        if md.get("finalizers") or (grace != 0 and self._awaits_kubelet(res, old)):
            new = copy.deepcopy(old)
            period = (
                grace if grace is not None else old.get("spec", {}).get("terminationGracePeriodSeconds", 0)
            )
            new["metadata"].update(deletionTimestamp=now_iso(), deletionGracePeriodSeconds=period or 0)
            return self.store.commit(res, "MODIFIED", old, new), False
        return self._remove(res, old), True

    def _remove(self, res: Resource, obj: Obj) -> Obj:
        out = self.store.commit(res, "DELETED", obj, obj)
        if res.plural == "customresourcedefinitions":
            self._unregister_crd(obj)
        return out

    def _orphan(self, uid: str) -> None:
        for res in self.registry.all():
            for obj in list(self.store.objects[res.key].values()):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == uid for ref in refs):
                    new = copy.deepcopy(obj)
                    new["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    self.store.commit(res, "MODIFIED", obj, new)

    # ---- CRDs
    def _register_crd(self, crd: Obj) -> None:
        for res in crd_resources(crd):
            self.registry.register(res)
        spec = crd.get("spec", {})
        t = now_iso()
        crd.setdefault("status", {}).update(
            acceptedNames=spec.get("names", {}),
            storedVersions=[v["name"] for v in spec.get("versions", []) if v.get("storage")],
            conditions=[
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "lastTransitionTime": t},
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "lastTransitionTime": t,
                },
            ],
        )

    def _unregister_crd(self, crd: Obj) -> None:
        spec = crd.get("spec", {})
        for version in spec.get("versions", []):
            self.registry.unregister(spec["group"], version["name"], spec["names"]["plural"])
        self.store.drop((spec["group"], spec["names"]["plural"]))

    # ---- admission
    def _configs(self, plural: str) -> list[Obj]:
        objs = self.store.objects[("admissionregistration.k8s.io", plural)].values()
        return sorted(objs, key=lambda c: str(c["metadata"]["name"]))

    async def admit(self, res: Resource, operation: str, obj: Obj, old: Obj | None, user: str) -> Obj:
        """Mutating webhooks in name order, then validating webhooks on the mutated object."""
        ns_obj = self.store.find(self.res("", "namespaces"), None, obj["metadata"].get("namespace") or "")
        ns_labels = (ns_obj or {}).get("metadata", {}).get("labels") or {}
        for plural, mutating in (
            ("mutatingwebhookconfigurations", True),
            ("validatingwebhookconfigurations", False),
        ):
            for config in self._configs(plural):
                for webhook in config.get("webhooks", []):
                    req = admission.Request(res, operation, obj, old, user, ns_labels)
                    if admission.applies(webhook, req):
                        obj = await self.webhooks.call(webhook, req, mutating)
        return obj
