"""Certificates stay valid in a running manager: renewed before they expire, ``caBundle`` kept in sync.

Every replica checks its certificate directory every ``--cert-check-interval`` (upstream: 12 h) and
renews what would expire within ``--cert-renew-margin`` (``certs.renewing.Renewer`` over
``certs.rotating``). Both servers read the new files on their next handshake (``serving.tls``), so no
process restarts. When the trust bundle changes (a new or next CA), the leader, which registered the
webhook configurations, writes it into their ``caBundle``; a follower's change reaches them when it
leads and registers.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

from kubernetes import client

from api.names import WEBHOOK_CONFIGURATIONS
from certs.authority import ServingNames
from certs.renewing import Renewer
from certs.rotating import CaBundleSink
from certs.stores import DirectoryStore
from controller.certificates import WebhookConfigurationSink
from manager.settings import ManagerSettings

log = logging.getLogger(__name__)


def serving_names(settings: ManagerSettings) -> ServingNames:
    """The service names plus every address the manager is reached at."""
    addresses = settings.addresses
    for extra in (settings.host, settings.manager_ip):
        if extra not in ("0.0.0.0", "::", "") and extra not in addresses:
            addresses = (*addresses, extra)
    return ServingNames(settings.install_namespace, addresses)


class LeaderOnly:
    """A ``CaBundleSink`` that passes the bundle on only while this replica leads."""

    def __init__(self, sink: CaBundleSink, leading: Callable[[], bool]) -> None:
        self.sink, self.leading = sink, leading

    def update_ca_bundle(self, ca_bundle: str) -> None:
        if self.leading():
            self.sink.update_ca_bundle(ca_bundle)
        else:
            log.info("Left the caBundle to the leader after a CA change")


def renewer(settings: ManagerSettings, api: client.ApiClient, leading: Callable[[], bool]) -> Renewer:
    suffix = "" if settings.kubeconfig is None else "-debug"  # as ``registering`` names them
    admission: Any = client.AdmissionregistrationV1Api(api)
    sink = WebhookConfigurationSink(admission, tuple(name + suffix for name in WEBHOOK_CONFIGURATIONS))
    return Renewer(DirectoryStore(settings.cert_dir), serving_names(settings),
                   lambda: log.info("Renewed the serving certificates dir=%s", settings.cert_dir),
                   interval=datetime.timedelta(seconds=settings.cert_check_interval),
                   margin=datetime.timedelta(seconds=settings.cert_renew_margin),
                   sinks=[LeaderOnly(sink, leading)])
