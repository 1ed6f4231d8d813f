"""Garbage collection: dependents of a deleted owner, and the contents of a deleted namespace.

Background propagation as the real collector does it: a dependent whose every owner is gone is
deleted; one that still has a live owner only loses the reference to the deleted one.
"""

from __future__ import annotations

import copy

from localcluster.apiserver import ApiServer
from localcluster.errors import ApiError
from localcluster.storage import Obj


class GarbageCollector:
    def __init__(self, api: ApiServer) -> None:
        self.api = api

    def _live_uids(self) -> set[str]:
        return {o["metadata"]["uid"] for objs in self.api.store.objects.values() for o in objs.values()}

    async def owner_deleted(self, _ns: str, uid: str) -> None:
        live = self._live_uids()
        for res in self.api.registry.all():
            for obj in list(self.api.store.objects[res.key].values()):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                md = obj["metadata"]
                try:
                    if any(r.get("uid") in live for r in refs):
                        await self._drop_ref(obj, uid)
                    else:
                        await self.api.delete(res, md.get("namespace"), md["name"])
                except ApiError:
                    continue

    async def _drop_ref(self, obj: Obj, uid: str) -> None:
        res = self.api.registry.by_kind(obj["apiVersion"], obj["kind"])
        new = copy.deepcopy(obj)
        new["metadata"]["ownerReferences"] = [
            r for r in obj["metadata"]["ownerReferences"] if r.get("uid") != uid
        ]
        await self.api.update(
            res, obj["metadata"].get("namespace"), obj["metadata"]["name"], new, admit=False
        )

    async def namespace_deleted(self, _ns: str, name: str) -> None:
        if self.api.store.find(self.api.res("", "namespaces"), None, name) is not None:
            return
        for res in self.api.registry.all():
            if not res.namespaced:
                continue
            for obj in list(self.api.store.objects[res.key].values()):
                if obj["metadata"].get("namespace") == name:
                    try:
                        await self.api.delete(res, name, obj["metadata"]["name"])
                    except ApiError:
                        continue
