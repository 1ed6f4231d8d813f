"""The webhook configuration objects the API server needs, as pure builders (upstream spec §2.1).

In a cluster the client config references the service ``varmor-webhook-svc`` (port 443) in the
install namespace; outside a cluster it is a URL to the manager and the objects get a ``-debug``
suffix. The ``caBundle`` comes from ``certs.authority.ca_bundle``; ``with_ca_bundle`` updates it.
"""

from __future__ import annotations

import copy
from typing import Any, NotRequired, TypedDict

from api.names import (
    DEFAULT_INSTALL_NAMESPACE,
    DEFAULT_MATCH_LABEL,
    GROUP,
    MUTATING_CONFIGURATION,
    VALIDATING_CONFIGURATION,
    VARMOR_CLUSTER_POLICIES,
    VARMOR_POLICIES,
    VERSION,
    WEBHOOK_SERVICE,
    WEBHOOK_SERVICE_PORT,
)

__all__ = ["DEFAULT_MATCH_LABEL", "mutating_configuration", "parse_match_label", "validating_configuration",
           "with_ca_bundle"]


class ServiceReference(TypedDict):
    name: str
    namespace: str
    path: str
    port: int


class ClientConfig(TypedDict):
    caBundle: str
    service: NotRequired[ServiceReference]
    url: NotRequired[str]


def parse_match_label(text: str) -> dict[str, str]:
    """``--webhookMatchLabel``: ``key=value``; an empty string selects every workload."""
    if text == "":
        return {}
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--webhookMatchLabel must be key=value or empty, not {text!r}")
    return {key: value}


def client_config(path: str, ca_bundle: str, namespace: str, url_base: str | None) -> ClientConfig:
    """A service reference in a cluster, or ``url_base + path`` (``https://<ip>:3443``) outside."""
    if url_base is not None:
        return {"caBundle": ca_bundle, "url": url_base.rstrip("/") + path}
    return {"caBundle": ca_bundle, "service": {"name": WEBHOOK_SERVICE, "namespace": namespace,
                                               "path": path, "port": WEBHOOK_SERVICE_PORT}}


def _rule(groups: list[str], resources: list[str], operations: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "apiVersions": ["v1"], "operations": operations, "resources": resources,
            "scope": "*"}


def mutating_configuration(
    ca_bundle: str, namespace: str = DEFAULT_INSTALL_NAMESPACE, match_label: str = DEFAULT_MATCH_LABEL,
    timeout_seconds: int = 10, url_base: str | None = None,
) -> dict[str, Any]:
    """``varmor-resource-mutating-webhook-cfg``: workloads on CREATE/UPDATE, pods on CREATE."""
    debug = url_base is not None
    common = {
        "clientConfig": client_config("/mutate", ca_bundle, namespace, url_base),
        "failurePolicy": "Ignore", "sideEffects": "NoneOnDryRun", "timeoutSeconds": timeout_seconds,
        "admissionReviewVersions": ["v1"], "reinvocationPolicy": "Never" if debug else "IfNeeded",
        "objectSelector": {"matchLabels": parse_match_label(match_label)},
    }
    workloads = _rule(["apps"], ["daemonsets", "deployments", "statefulsets"], ["CREATE", "UPDATE"])
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": MUTATING_CONFIGURATION + ("-debug" if debug else "")},
        "webhooks": [
            {"name": "mutateworkload.varmor.org", "rules": [workloads], **copy.deepcopy(common)},
            {"name": "mutatepod.varmor.org", "rules": [_rule([""], ["pods"], ["CREATE"])], **common},
        ],
    }


def validating_configuration(
    ca_bundle: str, namespace: str = DEFAULT_INSTALL_NAMESPACE, timeout_seconds: int = 10,
    url_base: str | None = None,
) -> dict[str, Any]:
    """``varmor-policy-validating-webhook-cfg``: policies on CREATE/UPDATE, no object selector."""
    rule = _rule([GROUP], [VARMOR_POLICIES, VARMOR_CLUSTER_POLICIES], ["CREATE", "UPDATE"])
    rule["apiVersions"] = [VERSION]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": VALIDATING_CONFIGURATION + ("-debug" if url_base is not None else "")},
        "webhooks": [{
            "name": "validatepolicy.varmor.org", "rules": [rule],
            "clientConfig": client_config("/validate", ca_bundle, namespace, url_base),
            "failurePolicy": "Ignore", "sideEffects": "None", "timeoutSeconds": timeout_seconds,
            "admissionReviewVersions": ["v1"],
        }],
    }


def with_ca_bundle(configuration: dict[str, Any], ca_bundle: str) -> dict[str, Any]:
    """A copy of a webhook configuration whose every webhook trusts ``ca_bundle``."""
    updated = copy.deepcopy(configuration)
    for webhook in updated.get("webhooks", []):
        webhook["clientConfig"]["caBundle"] = ca_bundle
    return updated
