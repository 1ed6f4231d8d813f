"""The CA lives long and only the serving certificate is renewed; a CA change is published first.

Pure decisions (``renew``) over generated bundles at chosen instants, and ``ensure`` on a directory.
"""

from __future__ import annotations

import base64
import datetime
import pathlib
import stat

from cryptography import x509

from certs.authority import CA_VALIDITY, ServingNames, ca_bundle, new_bundle, reissue_serving, trust_bundle
from certs.rotating import CA_LEAD, CA_SOAK, Timing, decide, ensure, renew
from certs.stores import DirectoryStore

NOW = datetime.datetime.now(datetime.UTC)
NAMES = ServingNames("varmor")
DAY = datetime.timedelta(days=1)


class RecordingSink:
    def __init__(self) -> None:
        self.bundles: list[str] = []

    def update_ca_bundle(self, ca_bundle: str) -> None:
        self.bundles.append(ca_bundle)


def _verifies(ca_pem: bytes, cert_pem: bytes) -> bool:
    try:
        x509.load_pem_x509_certificate(cert_pem).verify_directly_issued_by(
            x509.load_pem_x509_certificate(ca_pem))
    except Exception:
        return False
    return True


def test_absent_certificates_are_generated_and_announced(tmp_path: pathlib.Path) -> None:
    sink = RecordingSink()
    outcome = ensure(DirectoryStore(tmp_path), NAMES, NOW, sinks=[sink])
    assert outcome.decision == "regenerate"
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == ["ca-bundle.crt", "ca.crt", "ca.key", "tls.crt", "tls.key"]
    assert sink.bundles == [ca_bundle(outcome.bundle)]


def test_the_ca_lives_ten_years_and_the_serving_certificate_one() -> None:
    bundle = new_bundle(NAMES, NOW)
    ca, cert = x509.load_pem_x509_certificate(bundle.ca_cert), x509.load_pem_x509_certificate(bundle.cert)
    assert ca.not_valid_after_utc - NOW > CA_VALIDITY - DAY
    assert 364 * DAY < cert.not_valid_after_utc - NOW <= 366 * DAY


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


def test_a_year_of_renewals_never_changes_the_ca_bundle(tmp_path: pathlib.Path) -> None:
    store, sink = DirectoryStore(tmp_path), RecordingSink()
    first = ensure(store, NAMES, NOW)
    decisions = [ensure(store, NAMES, NOW + day * DAY, sinks=[sink]).decision for day in range(0, 800, 5)]
    assert decisions.count("reissue") == 2  # once a year, within the margin before expiry
    assert set(decisions) == {"reuse", "reissue"}
    assert sink.bundles == []
    assert store.load() is not None and store.load().ca_cert == first.bundle.ca_cert  # type: ignore[union-attr]


def test_a_new_address_reissues_the_serving_certificate_and_keeps_the_ca(tmp_path: pathlib.Path) -> None:
    first = ensure(DirectoryStore(tmp_path), NAMES, NOW)
    sink = RecordingSink()
    wider = ServingNames("varmor", ("10.0.0.7",))
    second = ensure(DirectoryStore(tmp_path), wider, NOW, sinks=[sink])
    assert second.decision == "reissue"
    assert second.bundle.ca_cert == first.bundle.ca_cert
    assert second.bundle.cert != first.bundle.cert
    assert sink.bundles == []


def test_a_ca_change_publishes_old_and_new_before_the_new_one_signs(tmp_path: pathlib.Path) -> None:
    store, sink = DirectoryStore(tmp_path), RecordingSink()
    old = ensure(store, NAMES, NOW).bundle
    near_end = NOW + CA_VALIDITY - CA_LEAD + DAY

    staged = ensure(store, NAMES, near_end, sinks=[sink])
    assert staged.decision == "stage-ca"
    assert staged.bundle.ca_cert == old.ca_cert and _verifies(old.ca_cert, staged.bundle.cert)
    assert sink.bundles == [ca_bundle(staged.bundle)]
    assert trust_bundle(staged.bundle) == old.ca_cert + staged.bundle.next_ca_cert
    assert (tmp_path / "ca-bundle.crt").read_bytes() == trust_bundle(staged.bundle)

    assert ensure(store, NAMES, near_end + CA_SOAK / 2, sinks=[sink]).decision == "reuse"
    switched = ensure(store, NAMES, near_end + CA_SOAK, sinks=[sink])
    assert switched.decision == "switch-ca"
    new_ca = staged.bundle.next_ca_cert
    assert switched.bundle.ca_cert == new_ca and _verifies(new_ca, switched.bundle.cert)
    assert switched.bundle.previous_ca_cert == old.ca_cert  # still trusted until it expires
    assert sink.bundles[-1] == ca_bundle(switched.bundle)

    retired = ensure(store, NAMES, NOW + CA_VALIDITY + 2 * DAY, sinks=[sink])
    assert retired.decision == "retire-ca"
    assert trust_bundle(retired.bundle) == new_ca


def test_over_twelve_years_every_signing_ca_was_published_first(tmp_path: pathlib.Path) -> None:
    store, sink = DirectoryStore(tmp_path), RecordingSink()
    ensure(store, NAMES, NOW, sinks=[sink])
    for day in range(1, 12 * 365, 7):
        outcome = ensure(store, NAMES, NOW + day * DAY, sinks=[sink])
        assert outcome.decision != "regenerate", f"day {day}"
        trusted = {pem for b64 in sink.bundles for pem in _pems(b64)}
        assert outcome.bundle.ca_cert in trusted, f"day {day}: {outcome.decision}"
    assert len(sink.bundles) == 4  # first CA; old + next; new + previous; new alone once old expired


def _pems(b64: str) -> list[bytes]:
    text = base64.b64decode(b64)
    end = b"-----END CERTIFICATE-----\n"
    return [part + end for part in text.split(end) if part.strip()]


def test_a_ca_past_its_end_is_regenerated_and_the_new_bundle_is_announced(tmp_path: pathlib.Path) -> None:
    store = DirectoryStore(tmp_path)
    store.save(new_bundle(NAMES, NOW - CA_VALIDITY - DAY))
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
    outcome = renew(mixed, NAMES, NOW, Timing())
    assert outcome.decision == "reissue"
    assert outcome.reason.startswith("invalid serving certificate")
    assert _verifies(one.ca_cert, outcome.bundle.cert)
