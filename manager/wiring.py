"""Builds the leader's parts from settings: the cluster adapter, the model store, the reconciler and
the status service app. The one place that knows which implementation fills which port."""

from __future__ import annotations

from flask import Flask

from api.profilenames import policy_of_profile
from controller.exports import ModelExports
from controller.ingesting import Ingestor, UnknownProfile
from controller.kube import Cluster, api_client
from controller.modelstore import ModelStore
from controller.plans import Options
from controller.reconciling import PolicyReconciler
from controller.reports import Report
from controller.tokenreviews import AccessReviewer, TokenReviewer
from generator.checking import check_apparmor
from manager.settings import ManagerSettings
from manager.statusservice import StatusSettings, create_app
from webhook.registrations import parse_match_label

# The status service's API calls in flight (a TokenReview per new agent token, the model writes) can
# reach dozens at a burst of reports: each one beyond the pool cost a new TLS connection to the API server.
STATUS_API_CONNECTIONS = 64
EVENT_NODES = 20  # node names one NodeReported Event lists


def cluster(settings: ManagerSettings, connections: int = 0) -> Cluster:
    return Cluster(api_client(settings.kubeconfig, connections), settings.install_namespace, settings.agents)


def reconciler(settings: ManagerSettings) -> PolicyReconciler:
    kube = cluster(settings)
    options = Options(settings.install_namespace, settings.behavior_modeling, settings.restart_existing)
    return PolicyReconciler(kube, ModelStore(kube, settings.apm_dir), options,
                            parse_match_label(settings.match_label), check_apparmor)


def _classify(error: BaseException) -> int:
    return 404 if isinstance(error, UnknownProfile) else 503


def _reported(kube: Cluster, settings: ManagerSettings, reports: list[Report]) -> None:
    """One Event on the policy per burst of stored node recordings (``Ingestor`` gathers them)."""
    first = reports[0]
    owner = policy_of_profile(first.namespace, first.profile, settings.install_namespace)
    policy = kube.get_policy(*owner) if owner is not None else None
    if policy is not None:
        nodes = sorted({r.node for r in reports})
        more = f" and {len(nodes) - EVENT_NODES} more" if len(nodes) > EVENT_NODES else ""
        kube.event(policy, "Normal", "NodeReported",
                   f"Stored the recordings of {', '.join(nodes[:EVENT_NODES])}{more}.")


def status_app(settings: ManagerSettings) -> Flask:
    kube = cluster(settings, STATUS_API_CONNECTIONS)
    models = ModelStore(kube, settings.apm_dir)
    ingest = Ingestor(kube, models, lambda reports: _reported(kube, settings, reports))
    service = StatusSettings(settings.max_report_bytes, settings.metrics_dir)
    return create_app(service, TokenReviewer(kube.api), ingest, ModelExports(models), _classify,
                      kube.policy_phases, AccessReviewer(kube.api))

