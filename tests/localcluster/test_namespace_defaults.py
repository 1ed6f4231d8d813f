"""Every namespace has a `default` ServiceAccount and `kube-root-ca.crt`; `default` has `kubernetes`."""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException

from tests.localcluster.support import Kube, eventually


def _find(read: Any, *args: str) -> Any:
    try:
        return read(*args)
    except ApiException as e:
        if e.status == 404:
            return None
        raise


def test_a_new_namespace_gets_a_default_service_account_and_the_root_ca(kube: Kube) -> None:
    ns = kube.namespace("defaults")
    sa = eventually(lambda: _find(kube.core.read_namespaced_service_account, "default", ns))
    assert sa.metadata.namespace == ns
    cm = eventually(lambda: _find(kube.core.read_namespaced_config_map, "kube-root-ca.crt", ns))
    assert cm.data["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")


def test_the_default_service_account_is_recreated_after_deletion(kube: Kube) -> None:
    ns = kube.namespace("recreate")
    first = eventually(lambda: _find(kube.core.read_namespaced_service_account, "default", ns))
    kube.core.delete_namespaced_service_account("default", ns)
    again = eventually(
        lambda: (
            (sa := _find(kube.core.read_namespaced_service_account, "default", ns))
            and sa.metadata.uid != first.metadata.uid
            and sa
        )
    )
    assert again.metadata.name == "default"


def test_an_edited_root_ca_config_map_is_put_back(kube: Kube) -> None:
    ns = kube.namespace("rootca")
    cm = eventually(lambda: _find(kube.core.read_namespaced_config_map, "kube-root-ca.crt", ns))
    kube.core.patch_namespaced_config_map("kube-root-ca.crt", ns, {"data": {"ca.crt": "tampered"}})
    eventually(
        lambda: (
            kube.core.read_namespaced_config_map("kube-root-ca.crt", ns).data["ca.crt"] == cm.data["ca.crt"]
        )
    )


def test_the_kubernetes_service_points_at_the_api_server(kube: Kube) -> None:
    svc = kube.core.read_namespaced_service("kubernetes", "default")
    port = int(kube.api.configuration.host.rsplit(":", 1)[1])
    assert svc.spec.cluster_ip == "10.96.0.1"
    assert [(p.name, p.port, p.target_port) for p in svc.spec.ports] == [("https", 443, port)]
