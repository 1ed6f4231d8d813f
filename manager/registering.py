"""The leader registers both webhook configurations with its trust bundle (upstream spec §2.1).

In a cluster the configurations reference the ``varmor-webhook-svc`` Service; outside one (with
``--kubeconfig``) they are upstream's ``-debug`` configurations pointing at
``https://<managerIP>:<webhook port>``. An existing configuration is replaced, so a new leader's
CA and address take over. The ``caBundle`` is ``ca-bundle.crt`` (the CA, plus the next or previous one
during a CA change), so a registration never drops a CA that a serving certificate may use.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from certs.stores import TRUST_FILE
from manager.settings import ManagerSettings
from webhook.registrations import mutating_configuration, validating_configuration

log = logging.getLogger(__name__)


def _upsert(create: Callable[..., Any], read: Callable[..., Any], replace: Callable[..., Any],
            body: dict[str, Any]) -> None:
    name = body["metadata"]["name"]
    try:
        create(body)
        return
    except ApiException as error:
        if error.status != 409:
            raise
    body["metadata"]["resourceVersion"] = read(name).metadata.resource_version
    replace(name, body)


def register(api: client.ApiClient, settings: ManagerSettings) -> None:
    admission: Any = client.AdmissionregistrationV1Api(api)
    trust = settings.cert_dir / TRUST_FILE  # every CA a client must trust (the next one during a change)
    pem = (trust if trust.exists() else settings.cert_dir / "ca.crt").read_bytes()
    ca = base64.b64encode(pem).decode("ascii")
    url_base = None if settings.kubeconfig is None else f"https://{settings.manager_ip}:{settings.webhook_port}"
    mutating = mutating_configuration(ca, settings.install_namespace, settings.match_label,
                                      settings.webhook_timeout, url_base)
    validating = validating_configuration(ca, settings.install_namespace, settings.webhook_timeout, url_base)
    _upsert(admission.create_mutating_webhook_configuration, admission.read_mutating_webhook_configuration,
            admission.replace_mutating_webhook_configuration, mutating)
    _upsert(admission.create_validating_webhook_configuration,
            admission.read_validating_webhook_configuration,
            admission.replace_validating_webhook_configuration, validating)
    log.info("Registered the webhook configurations mutating=%s validating=%s",
             mutating["metadata"]["name"], validating["metadata"]["name"])
