"""Watch streams: resourceVersion replay, 410 Expired, bookmarks and ``timeoutSeconds``.

RV unset or "0" sends synthetic ADDED events for the current objects, then live changes; RV = N
replays the history after N, or answers an ERROR event with 410 when N is older than the history.
Snapshot and subscription happen with no ``await`` in between, so nothing is lost or duplicated.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from aiohttp import web

from localcluster.errors import ApiError, bad_request
from localcluster.resources import Resource
from localcluster.selectors import parse_field_selector, parse_label_selector
from localcluster.storage import Event, Store, Watcher


def _line(etype: str, obj: Any) -> bytes:
    return json.dumps({"type": etype, "object": obj}).encode() + b"\n"


def subscribe(
    store: Store, res: Resource, namespace: str | None, name: str | None, query: Any
) -> tuple[Watcher, list[Event], ApiError | None]:
    """Register a watcher; return it with its initial events, or the 410 error to send."""
    fields = parse_field_selector(query.get("fieldSelector"))
    if name:
        fields.append(("metadata.name", True, name))
    watcher = Watcher(res.key, namespace, parse_label_selector(query.get("labelSelector")), fields)
    rv = query.get("resourceVersion")
    if rv in (None, "", "0"):
        objs = store.list(res, namespace, watcher.labels, watcher.fields)
        initial: list[Event] = [
            ("ADDED", o) for o in sorted(objs, key=lambda o: int(o["metadata"]["resourceVersion"]))
        ]
        store.watchers[res.key].append(watcher)
        return watcher, initial, None
    try:
        since = int(rv)
    except ValueError as e:
        raise bad_request(f"invalid resourceVersion {rv!r}") from e
    if since < store.oldest_rv() - 1 and since < store.rv:
        return (
            watcher,
            [],
            ApiError(410, "Expired", f"too old resource version: {rv} ({store.oldest_rv() - 1})"),
        )
    store.replay(watcher, since)
    store.watchers[res.key].append(watcher)
    return watcher, [], None


async def _pump(
    resp: web.StreamResponse,
    store: Store,
    res: Resource,
    watcher: Watcher,
    timeout: float,
    bookmark_interval: float | None,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        wait = min(left, bookmark_interval) if bookmark_interval else left
        try:
            etype, obj = await asyncio.wait_for(watcher.queue.get(), wait)
        except TimeoutError:
            if bookmark_interval and loop.time() < deadline:
                mark = {
                    "kind": res.kind,
                    "apiVersion": res.group_version,
                    "metadata": {"resourceVersion": str(store.rv)},
                }
                await resp.write(_line("BOOKMARK", mark))
            continue
        await resp.write(_line(etype, obj))


async def serve_watch(
    request: web.Request,
    store: Store,
    res: Resource,
    namespace: str | None,
    name: str | None,
    bookmark_interval: float,
) -> web.StreamResponse:
    query = request.query
    watcher, initial, expired = subscribe(store, res, namespace, name, query)
    timeout = float(query.get("timeoutSeconds") or random.randint(1800, 3600))
    bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        if expired is not None:
            await resp.write(_line("ERROR", expired.body()))
            return resp
        for etype, obj in initial:
            await resp.write(_line(etype, obj))
        await _pump(resp, store, res, watcher, timeout, bookmark_interval if bookmarks else None)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        if watcher in store.watchers[res.key]:
            store.watchers[res.key].remove(watcher)
    return resp
