"""In a cluster the webhook certificates live in upstream's Secrets and every caBundle follows
the CA, checked with the real ``kubernetes`` client against the local cluster."""

from __future__ import annotations

import base64
import datetime
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from certs.authority import CA_VALIDITY, ServingNames, ca_bundle, new_bundle, serving_problem
from certs.rotating import CA_LEAD, CA_SOAK, ensure
from certs.stores import StoreConflict
from controller.certificates import SecretStore, WebhookConfigurationSink
from localcluster.cluster import ClusterThread, Settings
from webhook.registrations import mutating_configuration, validating_configuration

NOW = datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)
NAMES = ServingNames("varmor")
DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    thread = ClusterThread(Settings(state_dir=tmp_path_factory.mktemp("certs-cluster")))
    thread.start()
    cfg = client.Configuration()
    cfg.host = thread.cluster.url
    api_client = client.ApiClient(cfg)
    core: Any = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": "varmor"}})
    try:
        yield api_client
    finally:
        thread.stop()


def test_certificates_are_created_in_upstreams_secrets_and_reused(api: Any) -> None:
    core: Any = client.CoreV1Api(api)
    store = SecretStore(core, "varmor")
    first = ensure(store, NAMES, NOW)
    assert first.decision == "regenerate"
    ca = core.read_namespaced_secret("varmor-webhook-svc.varmor.varmor-tls-ca", "varmor")
    pair = core.read_namespaced_secret("varmor-webhook-svc.varmor.varmor-tls-pair", "varmor")
    assert ca.metadata.annotations["self-signed-cert"] == "true"
    assert base64.b64decode(ca.data["rootCA.crt"]) == first.bundle.ca_cert
    assert pair.type == "kubernetes.io/tls"
    assert base64.b64decode(pair.data["tls.crt"]) == first.bundle.cert
    again = ensure(store, NAMES, NOW + datetime.timedelta(days=1))
    assert again.decision == "reuse" and again.bundle == first.bundle


def _bundles(admission: Any) -> set[str]:
    mutating = admission.read_mutating_webhook_configuration("varmor-resource-mutating-webhook-cfg")
    validating = admission.read_validating_webhook_configuration("varmor-policy-validating-webhook-cfg")
    bundles = [w.client_config.ca_bundle for w in mutating.webhooks + validating.webhooks]
    assert len(bundles) == 3
    return set(bundles)


def test_a_ca_change_reaches_both_configurations_before_the_new_ca_signs(api: Any) -> None:
    core: Any = client.CoreV1Api(api)
    admission: Any = client.AdmissionregistrationV1Api(api)
    store, sinks = SecretStore(core, "varmor"), [WebhookConfigurationSink(admission)]
    old = ensure(store, NAMES, NOW).bundle
    admission.create_mutating_webhook_configuration(mutating_configuration(ca_bundle(old)))
    admission.create_validating_webhook_configuration(validating_configuration(ca_bundle(old)))
    assert ensure(store, NAMES, NOW + 400 * DAY, sinks=sinks).decision == "reissue"
    assert _bundles(admission) == {ca_bundle(old)}

    staged = ensure(store, NAMES, NOW + CA_VALIDITY - CA_LEAD + DAY, sinks=sinks)
    assert staged.decision == "stage-ca" and staged.bundle.ca_cert == old.ca_cert
    assert _bundles(admission) == {ca_bundle(staged.bundle)}
    assert base64.b64decode(ca_bundle(staged.bundle)) == old.ca_cert + staged.bundle.next_ca_cert
    assert store.load() == staged.bundle

    switched = ensure(store, NAMES, NOW + CA_VALIDITY - CA_LEAD + DAY + CA_SOAK, sinks=sinks)
    assert switched.decision == "switch-ca" and switched.bundle.ca_cert == staged.bundle.next_ca_cert
    assert _bundles(admission) == {ca_bundle(switched.bundle)}
    assert store.load() == switched.bundle


def test_incomplete_secrets_count_as_absent(api: Any) -> None:
    core: Any = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "broken"}})
    prefix = "varmor-webhook-svc.broken.varmor-tls"
    core.create_namespaced_secret("broken", {"metadata": {"name": f"{prefix}-ca"},
                                             "data": {"rootCA.crt": base64.b64encode(b"x").decode()}})
    core.create_namespaced_secret("broken", {"metadata": {"name": f"{prefix}-pair"}, "data": {}})
    store = SecretStore(core, "broken")
    assert store.load() is None
    assert ensure(store, ServingNames("broken"), NOW).decision == "regenerate"
    assert store.load() is not None


def test_a_missing_configuration_is_skipped(api: Any) -> None:
    admission: Any = client.AdmissionregistrationV1Api(api)
    name = "varmor-policy-validating-webhook-cfg"
    admission.delete_validating_webhook_configuration(name)
    WebhookConfigurationSink(admission, (name,)).update_ca_bundle("Zm9v")
    with pytest.raises(client.exceptions.ApiException):
        admission.read_validating_webhook_configuration(name)


def test_a_writer_that_lost_a_race_gets_a_conflict_and_then_reuses_the_winners_ca(api: Any) -> None:
    core: Any = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "race"}})
    names = ServingNames("race")
    winner, loser = SecretStore(core, "race"), SecretStore(core, "race")
    assert winner.load() is None and loser.load() is None
    won = ensure(winner, names, NOW)
    with pytest.raises(StoreConflict):
        loser.save(new_bundle(names, NOW))
    again = ensure(loser, names, NOW)
    assert again.decision == "reuse" and again.bundle.ca_cert == won.bundle.ca_cert


def test_two_replicas_renewing_at_once_end_with_one_consistent_bundle(api: Any) -> None:
    core: Any = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "pair"}})
    names, errors = ServingNames("pair"), []

    def replica() -> None:
        try:
            for _ in range(5):
                ensure(SecretStore(core, "pair"), names, NOW)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    stored = SecretStore(core, "pair").load()
    assert stored is not None
    assert serving_problem(stored, names, NOW) is None


def test_a_ca_whose_serving_pair_is_gone_is_kept_and_the_pair_reissued(api: Any) -> None:
    core: Any = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "nopair"}})
    names = ServingNames("nopair")
    first = ensure(SecretStore(core, "nopair"), names, NOW)
    core.delete_namespaced_secret("varmor-webhook-svc.nopair.varmor-tls-pair", "nopair")
    again = ensure(SecretStore(core, "nopair"), names, NOW)
    assert again.decision == "reissue" and again.bundle.ca_cert == first.bundle.ca_cert
