"""Per-namespace defaults: the ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap.

As kube-controller-manager's serviceaccount and root-ca-cert-publisher controllers do, every live
namespace gets both; a deleted one is recreated and an edited ConfigMap is put back. Level-based: the
reconciler reads the namespace and the two objects and writes only what differs.
"""

from __future__ import annotations

from localcluster.apiserver import ApiServer
from localcluster.storage import Obj

ROOT_CA = "kube-root-ca.crt"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters."
)


def root_ca_config_map(ca_pem: str) -> Obj:
    return {
        "metadata": {"name": ROOT_CA, "annotations": {"kubernetes.io/description": DESCRIPTION}},
        "data": {"ca.crt": ca_pem},
    }


class NamespaceDefaults:
    """Reconciles one namespace's default ServiceAccount and root CA ConfigMap."""

    def __init__(self, api: ApiServer, ca_pem: str) -> None:
        self.api = api
        self.ca_pem = ca_pem

    async def reconcile(self, _ns: str, name: str) -> None:
        ns = self.api.store.find(self.api.res("", "namespaces"), None, name)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        sa_res, cm_res = self.api.res("", "serviceaccounts"), self.api.res("", "configmaps")
        if self.api.store.find(sa_res, name, "default") is None:
            await self.api.create(sa_res, name, {"metadata": {"name": "default"}}, admit=False)
        cm = self.api.store.find(cm_res, name, ROOT_CA)
        want = root_ca_config_map(self.ca_pem)
        if cm is None:
            await self.api.create(cm_res, name, want, admit=False)
        elif cm.get("data") != want["data"]:
            await self.api.update(cm_res, name, ROOT_CA, {**cm, "data": want["data"]}, admit=False)
