"""Watch streams: resourceVersion replay, 410 Expired, bookmarks and ``timeoutSeconds``.

RV unset or "0" sends synthetic ADDED events for the current objects, then live changes; RV = N
replays the history after N, or answers an ERROR event with 410 when N is older than the history.
Snapshot and subscription happen with no ``await`` in between, so nothing is lost or duplicated; a
bookmark is sent only with the queue drained, so it never overtakes an event it covers.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

from aiohttp import web

from localcluster import tables
from localcluster.errors import ApiError, bad_request
from localcluster.resources import Resource
from localcluster.selectors import parse_field_selector, parse_label_selector
from localcluster.storage import Event, Obj, Store, Watcher

Render = Callable[[Obj], Any]
_LIVENESS = 0.5  # how often an idle watch checks that its client is still connected


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
    render: Render,
    transport: asyncio.BaseTransport | None,
) -> None:
    """Send events until ``timeout``; a bookmark after each ``bookmark_interval`` of silence."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet_until = loop.time() + (bookmark_interval or timeout)
    while (left := deadline - loop.time()) > 0:
        wait = max(0.001, min(left, _LIVENESS, quiet_until - loop.time()))
        try:
            if watcher.queue.empty():
                etype, obj = await asyncio.wait_for(watcher.queue.get(), wait)
            else:
                etype, obj = watcher.queue.get_nowait()
        except TimeoutError:
            if transport is None or transport.is_closing():
                return  # the client went away (aiohttp does not cancel the handler)
            # A timed-out get can leave an event in the queue: it goes first, or the bookmark's
            # resourceVersion would cover an event not yet sent.
            due = bookmark_interval and loop.time() >= quiet_until and loop.time() < deadline
            if due and watcher.queue.empty():
                mark = {
                    "kind": res.kind,
                    "apiVersion": res.group_version,
                    "metadata": {"resourceVersion": str(store.rv)},
                }
                await resp.write(_line("BOOKMARK", mark))
                quiet_until = loop.time() + (bookmark_interval or timeout)
            continue
        await resp.write(_line(etype, render(obj)))
        quiet_until = loop.time() + (bookmark_interval or timeout)


def table_render(res: Resource, include: str) -> Render:
    """Watch events as one-row Tables (``kubectl get -w``); only the first carries the columns."""
    first = True

    def render(obj: Obj) -> Obj:
        nonlocal first
        out = tables.table(res, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]}, include)
        if not first:
            out["columnDefinitions"] = []
        first = False
        return out

    return render


async def serve_watch(
    request: web.Request,
    store: Store,
    res: Resource,
    namespace: str | None,
    name: str | None,
    bookmark_interval: float,
) -> web.StreamResponse:
    query = request.query
    try:
        timeout = float(query.get("timeoutSeconds") or random.randint(1800, 3600))
    except ValueError as e:
        raise bad_request(f"invalid timeoutSeconds {query.get('timeoutSeconds')!r}") from e
    watcher, initial, expired = subscribe(store, res, namespace, name, query)
    bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
    render: Render = lambda obj: obj  # noqa: E731
    if tables.wants_table(request.headers.get("Accept")):
        render = table_render(res, query.get("includeObject", "Metadata"))
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        if expired is not None:
            await resp.write(_line("ERROR", expired.body()))
            return resp
        for etype, obj in initial:
            await resp.write(_line(etype, render(obj)))
        interval = bookmark_interval if bookmarks else None
        await _pump(resp, store, res, watcher, timeout, interval, render, request.transport)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        if watcher in store.watchers[res.key]:
            store.watchers[res.key].remove(watcher)
    return resp
