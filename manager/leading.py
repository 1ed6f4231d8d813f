"""Leader election over the ``varmor-manager`` Lease with the ``kubernetes`` client's ``leaderelection``.

The leader labels its own pod ``identity=leader`` (after taking the label off every other pod of the
install namespace), so that the ``varmor-status-svc`` Service selects it (upstream spec §3.1). When
leadership is lost the process stops leading work and exits; the Deployment restarts it as a follower.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.leaderelection import electionconfig as _electionconfig
from kubernetes.leaderelection import leaderelection as _leaderelection
from kubernetes.leaderelection.resourcelock import leaselock as _leaselock

from api.names import LEADER_LABEL, MANAGER_LEASE

log = logging.getLogger(__name__)
electionconfig: Any = _electionconfig
leaderelection: Any = _leaderelection
leaselock: Any = _leaselock


def label_leader(api: client.ApiClient, namespace: str, pod: str) -> None:
    """Move ``identity=leader`` to ``pod``; a missing pod (out of cluster) is logged and skipped."""
    core: Any = client.CoreV1Api(api)
    key, value = LEADER_LABEL
    for other in core.list_namespaced_pod(namespace, label_selector=f"{key}={value}").items:
        if other.metadata.name != pod:
            core.patch_namespaced_pod(other.metadata.name, namespace, {"metadata": {"labels": {key: None}}})
    try:
        core.patch_namespaced_pod(pod, namespace, {"metadata": {"labels": {key: value}}})
        log.info("Labelled the leader pod namespace=%s name=%s", namespace, pod)
    except ApiException as error:
        if error.status != 404:
            raise
        log.warning("Could not label the leader pod namespace=%s name=%s: not found", namespace, pod)


def elect(api: client.ApiClient, namespace: str, identity: str, timings: tuple[float, float, float],
          on_started: Callable[[], None], on_stopped: Callable[[], None]) -> threading.Thread:
    """Run the election on a daemon thread: ``on_started`` once leading, ``on_stopped`` when lost."""
    lock = leaselock.LeaseLock(MANAGER_LEASE, namespace, identity)
    lock.api_instance = client.CoordinationV1Api(api)
    lease, renew, retry = timings
    settings = electionconfig.Config(lock, lease_duration=lease, renew_deadline=renew, retry_period=retry,
                                     onstarted_leading=on_started, onstopped_leading=on_stopped)
    thread = threading.Thread(target=leaderelection.LeaderElection(settings).run, name="leader-election",
                              daemon=True)
    thread.start()
    return thread
