"""``app.py predelete``: the Helm pre-delete clean-up (upstream ``cmd/varmor/predelete.go``).

Deletes every VarmorClusterPolicy and every VarmorPolicy while the manager still runs, so that
its controllers remove their finalizers and roll workloads back, then waits a moment for them.
ArmorProfileModels are kept, as upstream keeps them. Runs as the chart's pre-delete hook Job
(service account ``varmor-manager``), or by hand with ``--kubeconfig``.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import urllib3
from kubernetes import client

from api.names import GROUP, VARMOR_CLUSTER_POLICIES, VARMOR_POLICIES, VERSION
from controller.kube import api_client

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster service account)")
    parser.add_argument("--wait", type=float, default=5.0, metavar="SECONDS",
                        help="time left to the manager to clean up after the deletes (default 5)")


def delete_policies(api: Any) -> int:
    """Delete every cluster and namespaced policy; returns how many deletes were issued."""
    deleted = 0
    for policy in api.list_cluster_custom_object(GROUP, VERSION, VARMOR_CLUSTER_POLICIES)["items"]:
        name = policy["metadata"]["name"]
        _ignore_gone(api.delete_cluster_custom_object, GROUP, VERSION, VARMOR_CLUSTER_POLICIES, name)
        log.info("Deleted VarmorClusterPolicy name=%s", name)
        deleted += 1
    for policy in api.list_cluster_custom_object(GROUP, VERSION, VARMOR_POLICIES)["items"]:
        namespace, name = policy["metadata"]["namespace"], policy["metadata"]["name"]
        _ignore_gone(api.delete_namespaced_custom_object, GROUP, VERSION, namespace, VARMOR_POLICIES, name)
        log.info("Deleted VarmorPolicy namespace=%s name=%s", namespace, name)
        deleted += 1
    return deleted


def _ignore_gone(call: Any, *args: str) -> None:
    try:
        call(*args)
    except client.ApiException as error:
        if error.status != 404:
            raise


def run(args: argparse.Namespace) -> int:
    try:
        deleted = delete_policies(client.CustomObjectsApi(api_client(args.kubeconfig)))
    except client.ApiException as error:
        print(f"error: deleting policies failed: {error.status} {error.reason}")
        return 1
    except urllib3.exceptions.HTTPError as error:
        print(f"error: the API server is not reachable: {error}")
        return 1
    print(f"Deleted {deleted} policies")
    time.sleep(args.wait)
    return 0
