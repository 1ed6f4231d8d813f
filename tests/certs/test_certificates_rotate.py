"""Certificates are reused while valid, re-issued by the same CA or regenerated when expiring."""

from __future__ import annotations

import datetime
import pathlib
import stat

from certs.authority import ServingNames, ca_bundle, new_bundle, reissue_serving
from certs.rotating import decide, ensure
from certs.stores import DirectoryStore

NOW = datetime.datetime.now(datetime.UTC)
NAMES = ServingNames("varmor")
DAY = datetime.timedelta(days=1)


class RecordingSink:
    def __init__(self) -> None:
        self.bundles: list[str] = []

    def update_ca_bundle(self, ca_bundle: str) -> None:
        self.bundles.append(ca_bundle)


def test_absent_certificates_are_generated_and_announced(tmp_path: pathlib.Path) -> None:
    sink = RecordingSink()
    outcome = ensure(DirectoryStore(tmp_path), NAMES, NOW, sinks=[sink])
    assert outcome.decision == "regenerate"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.crt", "ca.key", "tls.crt", "tls.key"]
    assert sink.bundles == [ca_bundle(outcome.bundle)]


def test_private_keys_are_readable_by_the_owner_only(tmp_path: pathlib.Path) -> None:
    ensure(DirectoryStore(tmp_path), NAMES, NOW)
    assert stat.S_IMODE((tmp_path / "tls.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600


def test_valid_certificates_are_reused_without_touching_the_ca_bundle(tmp_path: pathlib.Path) -> None:
    first = ensure(DirectoryStore(tmp_path), NAMES, NOW)
    sink = RecordingSink()
    second = ensure(DirectoryStore(tmp_path), NAMES, NOW + DAY, sinks=[sink])
    assert second.decision == "reuse"
    assert second.bundle == first.bundle
    assert sink.bundles == []


def test_an_expiring_serving_certificate_is_reissued_by_the_same_ca() -> None:
    fresh = new_bundle(NAMES, NOW)
    old_serving = reissue_serving(fresh, NAMES, NOW - 360 * DAY)  # ends in about 5 days
    almost = NOW + 5 * DAY - datetime.timedelta(hours=6)
    decision, reason = decide(old_serving, NAMES, almost)
    assert (decision, reason) == ("reissue", "the serving certificate expires")


def test_a_new_address_reissues_the_serving_certificate_and_keeps_the_ca(tmp_path: pathlib.Path) -> None:
    first = ensure(DirectoryStore(tmp_path), NAMES, NOW)
    sink = RecordingSink()
    wider = ServingNames("varmor", ("10.0.0.7",))
    second = ensure(DirectoryStore(tmp_path), wider, NOW, sinks=[sink])
    assert second.decision == "reissue"
    assert second.bundle.ca_cert == first.bundle.ca_cert
    assert second.bundle.cert != first.bundle.cert
    assert sink.bundles == []


def test_an_expiring_ca_is_regenerated_and_the_new_bundle_is_announced(tmp_path: pathlib.Path) -> None:
    store = DirectoryStore(tmp_path)
    store.save(new_bundle(NAMES, NOW - 365 * DAY + datetime.timedelta(hours=6)))
    sink = RecordingSink()
    outcome = ensure(store, NAMES, NOW, sinks=[sink])
    assert outcome.decision == "regenerate"
    assert outcome.reason == "the CA expires"
    assert sink.bundles == [ca_bundle(outcome.bundle)]
    assert store.load() == outcome.bundle


def test_unreadable_files_are_replaced(tmp_path: pathlib.Path) -> None:
    ensure(DirectoryStore(tmp_path), NAMES, NOW)
    (tmp_path / "ca.crt").write_bytes(b"garbage")
    assert ensure(DirectoryStore(tmp_path), NAMES, NOW).decision == "regenerate"


def test_a_serving_certificate_from_another_ca_is_reissued() -> None:
    one, other = new_bundle(NAMES, NOW), new_bundle(NAMES, NOW)
    mixed = type(one)(one.ca_cert, one.ca_key, other.cert, other.key)
    decision, reason = decide(mixed, NAMES, NOW)
    assert decision == "reissue"
    assert reason.startswith("invalid serving certificate")
