"""An informer: list, then watch from the list's resourceVersion, keep a cache, call back on change.

A watch that ends is resumed from the last resourceVersion seen (bookmarks included); 410 Gone or any
other error relists. The cache is rebuilt from the API after every relist, so nothing depends on
what a previous process saw. ``on_change(event_type, obj)`` runs on the informer's thread and should
only enqueue keys. Works with any list function of the ``kubernetes`` client that returns dicts
(custom objects) or models (use ``to_dict``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch as _watch
from kubernetes.client.exceptions import ApiException

watching: Any = _watch

log = logging.getLogger(__name__)
OnChange = Callable[[str, dict[str, Any]], None]


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Informer:
    def __init__(self, name: str, list_fn: Callable[..., Any], on_change: OnChange,
                 watch_seconds: int = 60) -> None:
        self.name = name
        self.list_fn = list_fn
        self.on_change = on_change
        self.watch_seconds = watch_seconds
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}
        self.synced = threading.Event()
        self._stop = threading.Event()
        self._watch: Any = None

    def _relist(self) -> str:
        answer = self.list_fn()
        items = [dict(i) for i in answer.get("items") or []]
        fresh = {_key(i): i for i in items}
        for gone in set(self.cache) - set(fresh):
            self.on_change("DELETED", self.cache[gone])
        self.cache = fresh
        for item in items:
            self.on_change("ADDED", item)
        self.synced.set()
        return str((answer.get("metadata") or {}).get("resourceVersion") or "")

    def _watch_from(self, version: str) -> str:
        self._watch = watching.Watch()
        stream: Any = self._watch.stream
        for event in stream(self.list_fn, resource_version=version,
                                        timeout_seconds=self.watch_seconds, allow_watch_bookmarks=True):
            obj = event.get("raw_object") or event.get("object") or {}
            version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
            kind = event.get("type", "")
            if kind == "BOOKMARK":
                continue
            if kind == "DELETED":
                self.cache.pop(_key(obj), None)
            else:
                self.cache[_key(obj)] = obj
            self.on_change(kind, obj)
            if self._stop.is_set():
                break
        return version

    def run(self) -> None:
        version = ""
        while not self._stop.is_set():
            try:
                version = version or self._relist()
                version = self._watch_from(version)
            except ApiException as error:
                if error.status != 410:
                    log.warning("Watch failed informer=%s status=%s reason=%s", self.name, error.status,
                                error.reason)
                    self._stop.wait(1.0)
                version = ""
            except Exception as error:  # a dropped connection: relist after a pause
                log.warning("Watch failed informer=%s error=%r", self.name, error)
                self._stop.wait(1.0)
                version = ""

    def start(self) -> Informer:
        threading.Thread(target=self.run, name=f"informer-{self.name}", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        current: Any = self._watch
        if current is not None:
            current.stop()
