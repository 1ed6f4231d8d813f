"""The renewal loop replaces expiring material and tells the server to reload."""

from __future__ import annotations

import contextlib
import datetime
import pathlib
import threading

from certs.authority import CertBundle, ServingNames, new_bundle
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


def test_the_loop_renews_an_expiring_serving_certificate_and_keeps_the_ca(tmp_path: pathlib.Path) -> None:
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
    assert renewed is not None and renewed.cert != expiring.cert
    assert renewed.ca_cert == expiring.ca_cert


class FlakyStore:
    """A store (our own port) whose first loads fail as a transient API error would."""

    def __init__(self, inner: DirectoryStore, failures: int) -> None:
        self.inner, self.failures, self.loads = inner, failures, 0

    def load(self) -> CertBundle | None:
        self.loads += 1
        if self.loads <= self.failures:
            raise OSError("transient failure")
        return self.inner.load()

    def save(self, bundle: CertBundle) -> None:
        self.inner.save(bundle)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return self.inner.lock()


def test_a_failed_check_is_retried_with_back_off_not_after_the_next_interval(tmp_path: pathlib.Path) -> None:
    expiring = new_bundle(NAMES, NOW - datetime.timedelta(days=365) + datetime.timedelta(hours=1))
    DirectoryStore(tmp_path).save(expiring)
    store = FlakyStore(DirectoryStore(tmp_path), failures=3)
    renewer = Renewer(store, NAMES, lambda: None, interval=datetime.timedelta(hours=1),
                      retry_min=datetime.timedelta(milliseconds=10))
    assert renewer.check_with_retries() is True
    assert store.loads == 4
    renewed = DirectoryStore(tmp_path).load()
    assert renewed is not None and renewed.cert != expiring.cert
