"""Versioned in-memory object storage: the etcd of the local cluster.

Every change gets the next global resourceVersion, lands in a bounded history (for watch replay
and 410 Expired), is offered to open watches and handed to change listeners (the controllers).
All methods are synchronous and run on the server's event loop, so each change is atomic.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localcluster.errors import ApiError, not_found
from localcluster.resources import Resource
from localcluster.selectors import FieldReq, LabelReq, fields_match, labels_match

Obj = dict[str, Any]
Event = tuple[str, Obj]
MAX_OBJECT_BYTES = 1536 * 1024
Listener = Callable[[Resource, str, "Obj | None", Obj], None]


@dataclass(eq=False)
class Watcher:
    """One open watch: its filter and the queue of events it has still to send."""

    key: tuple[str, str]
    namespace: str | None
    labels: list[LabelReq]
    fields: list[FieldReq]
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)

    def matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        md = obj["metadata"]
        if self.namespace is not None and md.get("namespace") != self.namespace:
            return False
        return labels_match(self.labels, md.get("labels")) and fields_match(self.fields, obj)

    def offer(self, etype: str, old: Obj | None, new: Obj) -> None:
        """Translate a change into what this filtered watch sees (ADDED/DELETED on (un)matching)."""
        was, now = self.matches(old), self.matches(new if etype != "DELETED" else None)
        if etype == "DELETED" and was:
            self.queue.put_nowait(("DELETED", new))
        elif etype != "DELETED" and (was or now):
            self.queue.put_nowait((etype if was and now else "ADDED" if now else "DELETED", new))


class Store:
    """Objects by resource key and (namespace, name), plus history, watchers and listeners."""

    def __init__(self, history: int = 10000, max_object_bytes: int = MAX_OBJECT_BYTES) -> None:
        self.max_object_bytes = max_object_bytes
        self.objects: dict[tuple[str, str], dict[tuple[str | None, str], Obj]] = collections.defaultdict(dict)
        self.rv = 1
        self.history: collections.deque[tuple[int, tuple[str, str], str, Obj | None, Obj]] = (
            collections.deque(maxlen=history)
        )
        self.watchers: dict[tuple[str, str], list[Watcher]] = collections.defaultdict(list)
        self.listeners: list[Listener] = []

    def commit(self, res: Resource, etype: str, old: Obj | None, new: Obj) -> Obj:
        """Store (or remove, for DELETED) ``new`` under the next resourceVersion and publish it.

        Like etcd, refuses to store an object larger than ``max_object_bytes`` (its JSON size).
        """
        # the stored copy is the object's JSON read back (what etcd keeps): its size is checked on the
        # way, and a JSON round trip copies a large object several times faster than copy.deepcopy
        text = json.dumps(new, separators=(",", ":"))
        if etype != "DELETED" and len(text) > self.max_object_bytes:
            raise ApiError(500, "", "etcdserver: request is too large")
        self.rv += 1
        stored: Obj = json.loads(text)
        stored["metadata"]["resourceVersion"] = str(self.rv)
        stored.setdefault("apiVersion", res.group_version)
        stored.setdefault("kind", res.kind)
        key = (stored["metadata"].get("namespace"), stored["metadata"]["name"])
        if etype == "DELETED":
            self.objects[res.key].pop(key, None)
        else:
            self.objects[res.key][key] = stored
        self.history.append((self.rv, res.key, etype, old, stored))
        for watcher in list(self.watchers[res.key]):
            watcher.offer(etype, old, stored)
        for listener in self.listeners:
            listener(res, etype, old, stored)
        return stored

    def get(self, res: Resource, namespace: str | None, name: str) -> Obj:
        obj = self.find(res, namespace, name)
        if obj is None:
            raise not_found(res.group, res.plural, name)
        return obj

    def find(self, res: Resource, namespace: str | None, name: str) -> Obj | None:
        return self.objects[res.key].get((namespace if res.namespaced else None, name))

    def list(
        self,
        res: Resource,
        namespace: str | None = None,
        labels: list[LabelReq] | None = None,
        fields: list[FieldReq] | None = None,
    ) -> list[Obj]:
        out = [
            obj
            for (ns, _), obj in self.objects[res.key].items()
            if (namespace is None or ns == namespace)
            and labels_match(labels or [], obj["metadata"].get("labels"))
            and fields_match(fields or [], obj)
        ]
        out.sort(key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))
        return out

    def drop(self, key: tuple[str, str]) -> None:
        self.objects.pop(key, None)

    def oldest_rv(self) -> int:
        return self.history[0][0] if self.history else self.rv + 1

    def replay(self, watcher: Watcher, since: int) -> None:
        for rv, key, etype, old, new in self.history:
            if rv > since and key == watcher.key:
                watcher.offer(etype, old, new)
