"""A minimal informer: list, then watch from the list's resourceVersion, relist on 410.

Keeps the current objects of one kind (by ``namespace/name``) and calls ``changed()`` after every
change, so the agent's loop recomputes its plan. The watch is the real ``kubernetes`` client's;
a broken stream is resumed from the last resourceVersion seen, after a short pause.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch

log = logging.getLogger(__name__)
Lister = Callable[..., Any]


def key_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


class Informer:
    """``list_call(**kwargs)`` must return a dict list (``_preload_content=False`` is not used)."""

    def __init__(self, name: str, list_call: Lister, changed: Callable[[], None],
                 stop: threading.Event, **kwargs: Any) -> None:
        self.name, self.list_call, self.changed, self.stop, self.kwargs = name, list_call, changed, stop, kwargs
        self.objects: dict[str, dict[str, Any]] = {}
        self.synced = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"informer-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.objects.values())

    def _relist(self) -> str:
        listing = _plain(self.list_call(**self.kwargs))
        with self._lock:
            self.objects = {key_of(obj): obj for obj in listing.get("items", [])}
        self.synced.set()
        self.changed()
        return str((listing.get("metadata") or {}).get("resourceVersion", ""))

    def _run(self) -> None:
        version = ""
        while not self.stop.is_set():
            try:
                version = version or self._relist()
                version = self._watch(version)
            except client.ApiException as error:
                if error.status == 410:
                    version = ""
                    continue
                log.warning("Watch failed kind=%s status=%s", self.name, error.status)
                self.stop.wait(2.0)
            except Exception as error:  # a broken stream or an unreachable API server
                log.warning("Watch interrupted kind=%s error=%s", self.name, error)
                self.stop.wait(2.0)

    def _watch(self, version: str) -> str:
        stream = watch.Watch()
        for event in stream.stream(self.list_call, resource_version=version, timeout_seconds=60,
                                   allow_watch_bookmarks=True, **self.kwargs):
            obj = _plain(event["object"])
            version = str((obj.get("metadata") or {}).get("resourceVersion", version))
            if event["type"] == "ERROR":
                if obj.get("code") == 410:
                    return ""
                continue
            if event["type"] != "BOOKMARK":
                with self._lock:
                    if event["type"] == "DELETED":
                        self.objects.pop(key_of(obj), None)
                    else:
                        self.objects[key_of(obj)] = obj
                self.changed()
            if self.stop.is_set():
                stream.stop()
        return version


def _plain(obj: Any) -> dict[str, Any]:
    """Typed client models (pods) become the API's own JSON dict; custom objects already are."""
    if isinstance(obj, dict):
        return obj
    plain: dict[str, Any] = client.ApiClient().sanitize_for_serialization(obj)
    return plain
