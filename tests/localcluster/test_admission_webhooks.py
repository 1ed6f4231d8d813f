"""Admission: webhooks registered in the cluster are called over HTTPS for controller-made pods.

The webhook's Service carries the ``localcluster.varmor.org/endpoint`` annotation (HOST:PORT), which
is how a service reference maps to a local port; the TLS name checked is ``<svc>.<ns>.svc``.
"""

from __future__ import annotations

import pathlib
import socket
from typing import Any

import pytest

from localcluster.admission import ENDPOINT_ANNOTATION
from tests.localcluster.support import Kube, eventually, running_pods
from tests.localcluster.webhook_server import serving


def deployment(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, **labels}},
                "spec": {
                    "containers": [
                        {"name": "c", "image": "debian:10", "command": ["/bin/sh", "-c", "sleep infinity"]}
                    ]
                },
            },
        },
    }


def webhook_config(name: str, ns: str, ca_bundle: str, policy: str, team: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [
            {
                "name": f"{name}.varmor.org",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": policy,
                "timeoutSeconds": 5,
                "clientConfig": {
                    "caBundle": ca_bundle,
                    "service": {"namespace": ns, "name": "hook", "path": "/mutate"},
                },
                "rules": [
                    {
                        "operations": ["CREATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"team": team}},
                "objectSelector": {"matchLabels": {"sandbox.varmor.org/enable": "true"}},
            }
        ],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def register_service(kube: Kube, ns: str, port: int) -> None:
    kube.core.create_namespaced_service(
        ns,
        {
            "metadata": {"name": "hook", "annotations": {ENDPOINT_ANNOTATION: f"127.0.0.1:{port}"}},
            "spec": {"ports": [{"port": 443}]},
        },
    )


def pod_annotations(kube: Kube, ns: str, app: str) -> list[dict[str, str]]:
    pods = running_pods(kube, ns, f"app={app}", 2) or []
    return [p.metadata.annotations or {} for p in pods]


def test_a_webhook_mutates_pods_created_by_a_deployment_rollout(kube: Kube, tmp_path: pathlib.Path) -> None:
    ns = kube.namespace("hooked", {"team": "a"})
    with serving(tmp_path, f"hook.{ns}.svc") as (port, ca_bundle):
        register_service(kube, ns, port)
        kube.admission.create_mutating_webhook_configuration(
            webhook_config(f"m-{ns}", ns, ca_bundle, "Fail", "a")
        )
        try:
            kube.apps.create_namespaced_deployment(
                ns, deployment("web", {"sandbox.varmor.org/enable": "true"})
            )
            pods = eventually(lambda: running_pods(kube, ns, "app=web", 2))
            assert all((p.metadata.annotations or {}).get("mutated-by") == "test-webhook" for p in pods)
            kube.apps.create_namespaced_deployment(ns, deployment("plain", {}))
            eventually(lambda: running_pods(kube, ns, "app=plain", 2))
            assert all("mutated-by" not in a for a in pod_annotations(kube, ns, "plain"))
        finally:
            kube.admission.delete_mutating_webhook_configuration(f"m-{ns}")


def test_a_webhook_checks_the_ca_bundle(kube: Kube, tmp_path: pathlib.Path) -> None:
    ns = kube.namespace("wrongca", {"team": "b"})
    (tmp_path / "other").mkdir()
    with (
        serving(tmp_path, f"hook.{ns}.svc") as (port, _),
        serving(tmp_path / "other", "x.svc") as (_, other_ca),
    ):
        register_service(kube, ns, port)
        kube.admission.create_mutating_webhook_configuration(
            webhook_config(f"m-{ns}", ns, other_ca, "Fail", "b")
        )
        try:
            kube.apps.create_namespaced_deployment(
                ns, deployment("web", {"sandbox.varmor.org/enable": "true"})
            )
            events = eventually(
                lambda: [e for e in kube.core.list_namespaced_event(ns).items if e.reason == "FailedCreate"]
            )
            assert "CERTIFICATE_VERIFY_FAILED" in events[0].message
        finally:
            kube.admission.delete_mutating_webhook_configuration(f"m-{ns}")


@pytest.mark.parametrize("policy", ["Ignore"])
def test_a_down_webhook_with_failure_policy_ignore_does_not_block_pods(kube: Kube, policy: str) -> None:
    ns = kube.namespace("down", {"team": "c"})
    register_service(kube, ns, free_port())
    kube.admission.create_mutating_webhook_configuration(webhook_config(f"m-{ns}", ns, "", policy, "c"))
    try:
        kube.apps.create_namespaced_deployment(ns, deployment("web", {"sandbox.varmor.org/enable": "true"}))
        eventually(lambda: running_pods(kube, ns, "app=web", 2))
        assert all("mutated-by" not in a for a in pod_annotations(kube, ns, "web"))
    finally:
        kube.admission.delete_mutating_webhook_configuration(f"m-{ns}")
