"""Rotation under load: the running webhook renews expiring certificates and serves the new ones."""

from __future__ import annotations

import datetime
import pathlib
import time

import requests

from certs.authority import ServingNames, new_bundle
from certs.stores import DirectoryStore
from tests.webhook.conftest import running_webhook


def test_an_expiring_ca_is_replaced_and_served_without_a_restart(tmp_path: pathlib.Path) -> None:
    cert_dir = tmp_path / "certs"
    with running_webhook(cert_dir, tmp_path / "vcpol.yaml", "--cert-check-seconds", "0.5") as server:
        first_ca = server.ca.read_bytes()
        expiring = new_bundle(ServingNames("varmor", ("127.0.0.1",)),
                              datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=365, hours=-1))
        DirectoryStore(cert_dir).save(expiring)
        deadline, served = time.monotonic() + 30, False
        while time.monotonic() < deadline and not served:
            time.sleep(0.3)
            current = server.ca.read_bytes()
            if current in (first_ca, expiring.ca_cert):
                continue
            try:
                served = requests.get(f"{server.url}/healthz", verify=str(server.ca), timeout=2).ok
            except requests.exceptions.SSLError:
                continue
        assert served, "the renewed certificate was not served within 30 s"
