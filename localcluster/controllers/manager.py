"""Controller manager: store changes only enqueue keys; one worker reconciles one key at a time.

A key is ``(kind, namespace, name)``; a change to an owned object also enqueues its controller
owner, and a deletion enqueues the garbage collector with the deleted uid. Reconcilers are
level-based: they read the current state, so duplicate or coalesced keys are harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from localcluster.errors import ApiError
from localcluster.resources import Resource
from localcluster.storage import Obj, Store

log = logging.getLogger(__name__)
Key = tuple[str, str, str]
Reconciler = Callable[[str, str], Awaitable[None]]
_OWNER_KINDS = {"ReplicaSet", "StatefulSet", "DaemonSet", "Deployment", "Job", "ReplicationController"}
_OWNER_GROUPS = {"apps", "batch", ""}


def keys_for(res: Resource, etype: str, obj: Obj) -> list[Key]:
    """The keys a change enqueues (pure)."""
    md = obj["metadata"]
    ns = md.get("namespace") or ""
    keys: list[Key] = []
    if res.kind in _OWNER_KINDS and res.group in _OWNER_GROUPS and res.builtin:
        keys.append((res.kind, ns, md["name"]))
    for ref in md.get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") in _OWNER_KINDS:
            keys.append((ref["kind"], ns, ref["name"]))
    if (
        res.plural == "pods"
        and not res.group
        and etype != "DELETED"
        and not obj.get("spec", {}).get("nodeName")
    ):
        keys.append(("Schedule", ns, md["name"]))
    if etype == "DELETED":
        keys.append(("gc", "", md["uid"]))
        if res.plural == "namespaces" and not res.group:
            keys.append(("Namespace", "", md["name"]))
    if etype != "DELETED" and res.plural == "namespaces" and md.get("deletionTimestamp"):
        keys.append(("Namespace", "", md["name"]))
    keys.extend(_namespace_default_keys(res, etype, obj))
    return keys


def _namespace_default_keys(res: Resource, etype: str, obj: Obj) -> list[Key]:
    """A namespace, its ``default`` ServiceAccount or its root CA ConfigMap changed."""
    md = obj["metadata"]
    if res.group:
        return []
    if res.plural == "namespaces" and etype != "DELETED" and not md.get("deletionTimestamp"):
        return [("NamespaceDefaults", "", md["name"])]
    if (res.plural, md["name"]) == ("serviceaccounts", "default") and etype == "DELETED":
        return [("NamespaceDefaults", "", md.get("namespace") or "")]
    if (res.plural, md["name"]) == ("configmaps", "kube-root-ca.crt"):
        return [("NamespaceDefaults", "", md.get("namespace") or "")]
    return []


class ControllerManager:
    """A deduplicating work queue and the reconcilers registered per kind."""

    def __init__(self, store: Store) -> None:
        self.reconcilers: dict[str, Reconciler] = {}
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._pending: set[Key] = set()
        store.listeners.append(self._on_change)

    def _on_change(self, res: Resource, etype: str, old: Obj | None, new: Obj) -> None:
        for key in keys_for(res, etype, new):
            self.enqueue(key)

    def enqueue(self, key: Key) -> None:
        if key[0] in self.reconcilers and key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    async def run(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key)
            try:
                await self.reconcilers[key[0]](key[1], key[2])
            except ApiError as e:
                log.warning("Reconcile failed key=%s code=%s message=%s", key, e.code, e.message)
                asyncio.get_running_loop().call_later(0.5, self.enqueue, key)
            except Exception:
                log.exception("Reconcile crashed key=%s", key)
