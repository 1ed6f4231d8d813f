"""What the kubelet reads from the API for one pod before each sync: the node's ``Sources``.

The ConfigMaps and Secrets the pod's volumes and env name, its ServiceAccount (a token issuer bound
to the account and the pod, as kubelet's TokenRequest for a projected token), and the Service env of
the ``kubernetes`` Service: its ClusterIP for pods on the pod network, its Endpoints' address for
``hostNetwork`` pods (the host reaches the API server directly, not through the pods' NAT rules).
"""

from __future__ import annotations

import datetime
from typing import Any

from localcluster import tokens
from localcluster.apiserver import ApiServer
from localcluster.node import sources, volumes
from localcluster.storage import Obj


def _api_env(api: ApiServer, host_network: bool) -> list[tuple[str, str]]:
    svc = api.store.find(api.res("", "services"), "default", "kubernetes")
    if svc is None:
        return []
    host, port = str(svc["spec"]["clusterIP"]), int(svc["spec"]["ports"][0]["port"])
    endpoints = api.store.find(api.res("", "endpoints"), "default", "kubernetes")
    subsets = (endpoints or {}).get("subsets") or []
    if host_network and subsets:
        host, port = str(subsets[0]["addresses"][0]["ip"]), int(subsets[0]["ports"][0]["port"])
    return sources.service_env("kubernetes", host, port)


def _issuer(authority: tokens.Authority, account: tokens.Account, pod: Obj) -> sources.TokenIssuer:
    bound = {"name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}

    def issue(audiences: list[str], seconds: int) -> tuple[str, float]:
        now = datetime.datetime.now(datetime.UTC)
        token, expires = authority.issue(account, audiences, seconds, now, bound)
        return token, expires.timestamp()

    return issue


def read(api: ApiServer, authority: tokens.Authority, pod: Obj) -> sources.Sources:
    ns, spec = pod["metadata"].get("namespace", "default"), pod.get("spec") or {}
    configmaps, secrets = sources.references(volumes.with_service_account(pod))
    found: dict[str, dict[str, Any] | None] = {
        n: api.store.find(api.res("", "configmaps"), ns, n) for n in configmaps
    }
    hidden: dict[str, dict[str, Any] | None] = {
        n: api.store.find(api.res("", "secrets"), ns, n) for n in secrets
    }
    name = spec.get("serviceAccountName") or "default"
    account = api.store.find(api.res("", "serviceaccounts"), ns, name)
    issuer, error = sources.Sources().token, f'serviceaccounts "{name}" not found'
    if account is not None:
        issuer, error = _issuer(authority, tokens.Account(ns, name, account["metadata"]["uid"]), pod), ""
    return sources.Sources(
        namespace=ns,
        configmaps=found,
        secrets=hidden,
        service_env=tuple(_api_env(api, bool(spec.get("hostNetwork")))),
        token=issuer,
        account_error=error,
    )
