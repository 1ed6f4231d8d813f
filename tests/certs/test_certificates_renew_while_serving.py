"""The renewal loop replaces expiring material and tells the server to reload."""

from __future__ import annotations

import datetime
import pathlib
import threading

from certs.authority import ServingNames, new_bundle
from certs.renewing import Renewer
from certs.stores import DirectoryStore

NOW = datetime.datetime.now(datetime.UTC)
NAMES = ServingNames("varmor")


def test_a_valid_bundle_is_left_alone_and_no_reload_happens(tmp_path: pathlib.Path) -> None:
    store = DirectoryStore(tmp_path)
    store.save(new_bundle(NAMES, NOW))
    reloads: list[int] = []
    assert Renewer(store, NAMES, lambda: reloads.append(1)).check() is False
    assert reloads == []


def test_the_loop_renews_an_expiring_bundle_and_asks_for_a_reload(tmp_path: pathlib.Path) -> None:
    store = DirectoryStore(tmp_path)
    expiring = new_bundle(NAMES, NOW - datetime.timedelta(days=365) + datetime.timedelta(hours=1))
    store.save(expiring)
    reloaded = threading.Event()
    renewer = Renewer(store, NAMES, reloaded.set, interval=datetime.timedelta(milliseconds=20))
    renewer.start()
    try:
        assert reloaded.wait(timeout=10)
    finally:
        renewer.stop()
    renewed = store.load()
    assert renewed is not None and renewed.ca_cert != expiring.ca_cert
