"""A running manager renews certificates before they expire and keeps the webhooks' ``caBundle`` in sync.

The manager checks every second (``--cert-check-interval 1s``) with upstream's 12 h margin. The test
plants short-lived material in its certificate directory, as time would: first a serving certificate
that expires within the hour (reissued from the same CA: the ``caBundle`` stays), then a CA that
expires within the hour (a new CA: both ``-debug`` webhook configurations get its ``caBundle``). Both
servers present the new certificate without a restart.
"""

from __future__ import annotations

import base64
import datetime
import functools
import pathlib
import socket
import ssl
from collections.abc import Iterator

import pytest
from cryptography import x509

from certs.authority import CertBundle, ServingNames, new_bundle, reissue_serving
from certs.stores import DirectoryStore
from tests.localcluster.support import Kube, eventually
from tests.manager.support import MUTATING, VALIDATING, ManagerProcess, local_cluster, registered_webhooks

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
NAMES = ServingNames("varmor", ("127.0.0.1",))
HOUR = datetime.timedelta(hours=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kube, ManagerProcess]]:
    state = tmp_path_factory.mktemp("certs")
    with local_cluster(state, nodes=1) as kube:
        manager = ManagerProcess(kube, state, "manager-c", ("--cert-check-interval", "1s"))
        try:
            eventually(manager.serving_status, timeout=60)
            registered_webhooks(kube, manager)
            yield kube, manager
        finally:
            manager.stop()
            print(manager.log.read_text())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def served(port: int) -> x509.Certificate:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _long_lived_at(port: int) -> x509.Certificate | None:
    cert = served(port)
    return cert if cert.not_valid_after_utc > _now() + datetime.timedelta(days=300) else None


def verifies(port: int, ca: bytes) -> bool:
    context = ssl.create_default_context(cadata=ca.decode())
    context.check_hostname = False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw):
            return True
    except ssl.SSLError:
        return False


def plant(cert_dir: pathlib.Path, bundle: CertBundle) -> None:
    store = DirectoryStore(cert_dir)
    with store.lock():
        store.load()
        store.save(bundle)


def test_a_serving_certificate_about_to_expire_is_reissued_from_the_same_ca(
    world: tuple[Kube, ManagerProcess],
) -> None:
    _, manager = world
    current = DirectoryStore(manager.cert_dir).load()
    assert current is not None
    short = reissue_serving(current, NAMES, _now() - datetime.timedelta(days=365) + HOUR)
    plant(manager.cert_dir, short)
    for port in (manager.webhook_port, manager.status_port):
        renewed = eventually(functools.partial(_long_lived_at, port), timeout=20)
        assert renewed.issuer == x509.load_pem_x509_certificate(current.ca_cert).subject
        assert verifies(port, current.ca_cert)
    assert (manager.cert_dir / "ca.crt").read_bytes() == current.ca_cert


def test_a_ca_about_to_expire_is_replaced_and_the_webhooks_ca_bundle_follows(
    world: tuple[Kube, ManagerProcess],
) -> None:
    kube, manager = world
    dying = reissue_serving(new_bundle(NAMES, _now() - datetime.timedelta(days=3650) + HOUR), NAMES,
                            _now() - datetime.timedelta(days=365) + HOUR)
    plant(manager.cert_dir, dying)

    def new_ca() -> bytes | None:
        ca = (manager.cert_dir / "ca.crt").read_bytes()
        return ca if ca != dying.ca_cert else None
    ca = eventually(new_ca, timeout=20)
    assert x509.load_pem_x509_certificate(ca).not_valid_after_utc > _now() + 3000 * 24 * HOUR

    def bundles() -> set[str]:
        configs = [*kube.admission.read_mutating_webhook_configuration(MUTATING).webhooks,
                   *kube.admission.read_validating_webhook_configuration(VALIDATING).webhooks]
        return {w.client_config.ca_bundle for w in configs}
    eventually(lambda: bundles() == {base64.b64encode(ca).decode()}, timeout=20)
    for port in (manager.webhook_port, manager.status_port):
        eventually(functools.partial(verifies, port, ca), timeout=20)
