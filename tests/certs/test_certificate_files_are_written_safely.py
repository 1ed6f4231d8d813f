"""Writes into the certificate directory never follow symlinks, never reuse a file already there,
keep keys 0600 whatever the umask, and two writers do not crash or mix each other's bundles."""

from __future__ import annotations

import datetime
import multiprocessing
import os
import pathlib
import stat

from cryptography import x509

from certs.authority import ServingNames, new_bundle
from certs.rotating import ensure
from certs.stores import DirectoryStore
from serving.tls import pair_problem

NOW = datetime.datetime.now(datetime.UTC)
NAMES = ServingNames("varmor")


def test_a_symlink_planted_at_a_target_is_replaced_not_followed(tmp_path: pathlib.Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("tls.key", "ca.key", "tls.crt"):
        (certs / name).symlink_to(outside)
    DirectoryStore(certs).save(new_bundle(NAMES, NOW))
    assert outside.read_text() == "precious"
    for name in ("tls.key", "ca.key", "tls.crt"):
        assert not (certs / name).is_symlink() and (certs / name).is_file()


def test_files_planted_at_temporary_names_are_never_written_through(tmp_path: pathlib.Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("tls.key", "tls.crt", "ca.key", "ca.crt"):  # the old fixed temporary names
        (certs / f".{name}.tmp").symlink_to(outside)
    DirectoryStore(certs).save(new_bundle(NAMES, NOW))
    assert outside.read_text() == "precious"
    assert DirectoryStore(certs).load() is not None


def test_keys_are_0600_and_certificates_0644_even_under_a_permissive_umask(tmp_path: pathlib.Path) -> None:
    previous = os.umask(0)
    try:
        DirectoryStore(tmp_path).save(new_bundle(NAMES, NOW))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "tls.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls.crt").stat().st_mode) == 0o644


def test_no_temporary_file_is_left_behind(tmp_path: pathlib.Path) -> None:
    for _ in range(3):
        DirectoryStore(tmp_path).save(new_bundle(NAMES, NOW))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def _writer(directory: str, address: str, rounds: int) -> None:
    names = ServingNames("varmor", (address,))
    for _ in range(rounds):  # each writer wants its own address: every call re-issues
        ensure(DirectoryStore(pathlib.Path(directory)), names, datetime.datetime.now(datetime.UTC))


def test_two_writers_at_once_neither_crash_nor_mix_their_bundles(tmp_path: pathlib.Path) -> None:
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_writer, args=(str(tmp_path), address, 15))
               for address in ("10.0.0.1", "10.0.0.2")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0]
    bundle = DirectoryStore(tmp_path).load()
    assert bundle is not None
    assert pair_problem(bundle.cert, bundle.key) is None
    x509.load_pem_x509_certificate(bundle.cert).verify_directly_issued_by(
        x509.load_pem_x509_certificate(bundle.ca_cert))
