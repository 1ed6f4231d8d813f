"""A watch BOOKMARK never overtakes an event it covers, even with bookmarks due all the time."""

from __future__ import annotations

import json
import pathlib
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from localcluster.cluster import ClusterThread, Settings
from localcluster.nodes import StatusOnlyNode


@pytest.fixture(scope="module")
def busy_bookmarks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that wants to send a bookmark every millisecond of silence."""
    state: pathlib.Path = tmp_path_factory.mktemp("bookmarks")
    thread = ClusterThread(Settings(state_dir=state, bookmark_interval=0.001, node_factory=StatusOnlyNode))
    url = thread.start()
    try:
        yield url
    finally:
        thread.stop()


BURST = 10


def _core(url: str) -> Any:
    cfg = client.Configuration()
    cfg.host = url
    return client.CoreV1Api(client.ApiClient(cfg))


def _create(url: str, ns: str, count: int, rvs: list[int], marked: threading.Event) -> None:
    """Create in bursts of ``BURST``; after each, wait (up to a second) for the reader's bookmark.

    A bookmark needs a millisecond of silence on the server, which a loaded machine (the GIL shared
    with busy threads) may never show between back-to-back creates; the pauses make sure the stream
    interleaves bookmarks with events, and the bursts still race events against bookmarks.
    """
    core = _core(url)
    for i in range(count):
        made = core.create_namespaced_config_map(ns, {"metadata": {"name": f"cm-{i}"}})
        rvs.append(int(made.metadata.resource_version))
        if i % BURST == BURST - 1:
            marked.wait(1.0)
            marked.clear()


def test_no_bookmark_is_sent_before_an_event_it_covers(busy_bookmarks: str) -> None:
    url, ns, count = busy_bookmarks, "default", 300
    start = _core(url).list_namespaced_config_map(ns).metadata.resource_version
    query = f"watch=true&allowWatchBookmarks=true&resourceVersion={start}&timeoutSeconds=30"
    stream = urllib.request.urlopen(f"{url}/api/v1/namespaces/{ns}/configmaps?{query}", timeout=30)
    rvs: list[int] = []
    marked = threading.Event()
    writer = threading.Thread(target=_create, args=(url, ns, count, rvs, marked))
    writer.start()
    seen: set[int] = set()
    bookmarks = overtaken = 0
    while len(seen) < count:
        line = json.loads(stream.readline())
        rv = int(line["object"]["metadata"]["resourceVersion"])
        if line["type"] == "BOOKMARK":
            bookmarks += 1
            marked.set()
            overtaken += any(r <= rv and r not in seen for r in list(rvs))
        else:
            seen.add(rv)
    writer.join()
    stream.close()
    assert bookmarks > 0, "the test must interleave bookmarks with events"
    assert overtaken == 0, f"{overtaken} of {bookmarks} bookmarks overtook an event"
