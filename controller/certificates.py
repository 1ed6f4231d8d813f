"""Webhook certificates in a cluster: upstream's two Secrets, and the ``caBundle`` of both
webhook configurations kept in sync with the CA.

``SecretStore`` is the in-cluster ``certs.stores.CertStore``: the CA in Secret
``varmor-webhook-svc.<ns>.varmor-tls-ca`` (key ``rootCA.crt``, plus ``rootCA.key`` so the CA can
re-issue the serving certificate without changing the ``caBundle``; annotation
``self-signed-cert: "true"``; during a CA change also ``nextCA.crt``/``nextCA.key`` or
``previousCA.crt``) and the serving pair in ``varmor-webhook-svc.<ns>.varmor-tls-pair``
(``kubernetes.io/tls``). Only a 404 means "absent": any other API error propagates, so a transient
failure never makes the renewer mint a new CA; a CA without a serving pair keeps its CA (the pair
is re-issued). Writes are optimistic: a Secret created or changed by another replica since our read
raises ``StoreConflict`` and ``ensure`` decides again from it. ``WebhookConfigurationSink`` is a
``certs.rotating.CaBundleSink`` that patches every webhook of
``varmor-resource-mutating-webhook-cfg`` and ``varmor-policy-validating-webhook-cfg`` (or of their
``-debug`` variants that a manager outside a cluster registers). Both take the
``kubernetes`` client's API objects.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from kubernetes.client.exceptions import ApiException

from api.names import WEBHOOK_CONFIGURATIONS as CONFIGURATIONS
from api.names import WEBHOOK_SERVICE as SERVICE
from certs.authority import CertBundle
from certs.stores import StoreConflict

log = logging.getLogger(__name__)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class SecretStore:
    def __init__(self, core: Any, namespace: str) -> None:
        self.core = core
        self.namespace = namespace
        self.ca_name = f"{SERVICE}.{namespace}.varmor-tls-ca"
        self.pair_name = f"{SERVICE}.{namespace}.varmor-tls-pair"
        self._versions: dict[str, str | None] = {}  # resourceVersion seen by the last read; None: absent

    def _read(self, name: str) -> dict[str, bytes] | None:
        try:
            secret = self.core.read_namespaced_secret(name, self.namespace)
        except ApiException as error:
            if error.status == 404:
                self._versions[name] = None
                return None
            raise
        self._versions[name] = secret.metadata.resource_version
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    def load(self) -> CertBundle | None:
        ca, pair = self._read(self.ca_name), self._read(self.pair_name) or {}
        if not ca:
            return None
        try:
            return CertBundle(ca_cert=ca["rootCA.crt"], ca_key=ca["rootCA.key"],
                              cert=pair.get("tls.crt", b""), key=pair.get("tls.key", b""),
                              next_ca_cert=ca.get("nextCA.crt", b""),
                              next_ca_key=ca.get("nextCA.key", b""),
                              previous_ca_cert=ca.get("previousCA.crt", b""))
        except KeyError:
            return None  # incomplete material: regenerate

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Nothing to hold: the manager renews on its leader only."""
        yield

    def _write(self, name: str, kind: str, data: dict[str, bytes], annotations: dict[str, str]) -> None:
        body: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Secret", "type": kind,
            "metadata": {"name": name, "namespace": self.namespace, "annotations": annotations},
            "data": {k: _b64(v) for k, v in data.items()}}
        seen = self._versions.get(name, "unread")
        try:
            if seen is None:
                written = self.core.create_namespaced_secret(self.namespace, body)
            else:
                if seen == "unread":  # saved without a load: the last writer wins
                    seen = self.core.read_namespaced_secret(name, self.namespace).metadata.resource_version
                body["metadata"]["resourceVersion"] = seen
                written = self.core.replace_namespaced_secret(name, self.namespace, body)
        except ApiException as error:
            if error.status == 409:
                raise StoreConflict(f"Secret {self.namespace}/{name} was written by someone else") from None
            raise
        self._versions[name] = written.metadata.resource_version
        log.info("Stored certificate secret %s/%s", self.namespace, name)

    def save(self, bundle: CertBundle) -> None:
        ca = {"rootCA.crt": bundle.ca_cert, "rootCA.key": bundle.ca_key, "nextCA.crt": bundle.next_ca_cert,
              "nextCA.key": bundle.next_ca_key, "previousCA.crt": bundle.previous_ca_cert}
        self._write(self.ca_name, "Opaque", {k: v for k, v in ca.items() if v}, {"self-signed-cert": "true"})
        self._write(self.pair_name, "kubernetes.io/tls", {"tls.crt": bundle.cert, "tls.key": bundle.key}, {})


class WebhookConfigurationSink:
    """Sets ``caBundle`` on every webhook of both configurations that exist."""

    def __init__(self, admission: Any, names: tuple[str, ...] = CONFIGURATIONS) -> None:
        self.admission = admission
        self.names = names

    def update_ca_bundle(self, ca_bundle: str) -> None:
        mutating = (self.admission.read_mutating_webhook_configuration,
                    self.admission.patch_mutating_webhook_configuration)
        validating = (self.admission.read_validating_webhook_configuration,
                      self.admission.patch_validating_webhook_configuration)
        for name in self.names:  # upstream's names, or their ``-debug`` variants out of a cluster
            read, patch = mutating if name.startswith(CONFIGURATIONS[0]) else validating
            try:
                current = read(name)
            except ApiException as error:
                if error.status == 404:
                    continue
                raise
            ops = [{"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": ca_bundle}
                   for i in range(len(current.webhooks or []))]
            if ops:
                patch(name, ops)
                log.info("Updated caBundle of %s", name)
