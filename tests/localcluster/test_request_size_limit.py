"""Objects past etcd's 1.5 MiB limit are refused as etcd refuses them; bodies past 3 MiB get 413."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from localcluster.storage import MAX_OBJECT_BYTES
from tests.localcluster.support import Kube


def _config_map(name: str, size: int) -> dict[str, object]:
    return {"metadata": {"name": name}, "data": {"blob": "x" * size}}


def test_an_object_just_under_the_limit_is_stored(kube: Kube) -> None:
    ns = kube.namespace("size")
    kube.core.create_namespaced_config_map(ns, _config_map("fits", MAX_OBJECT_BYTES - 4096))
    assert len(kube.core.read_namespaced_config_map("fits", ns).data["blob"]) == MAX_OBJECT_BYTES - 4096


def test_an_object_over_the_limit_is_refused_with_the_etcd_message(kube: Kube) -> None:
    ns = kube.namespace("size")
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map(ns, _config_map("big", 2 * 1024 * 1024))
    assert err.value.status == 500
    assert "etcdserver: request is too large" in str(err.value.body)


def test_an_update_that_grows_past_the_limit_is_refused_and_the_object_kept(kube: Kube) -> None:
    ns = kube.namespace("size")
    kube.core.create_namespaced_config_map(ns, _config_map("grows", 10))
    with pytest.raises(ApiException) as err:
        kube.core.patch_namespaced_config_map("grows", ns, {"data": {"blob": "y" * MAX_OBJECT_BYTES}})
    assert "request is too large" in str(err.value.body)
    assert kube.core.read_namespaced_config_map("grows", ns).data["blob"] == "x" * 10


def test_a_body_over_three_mebibytes_is_413(kube: Kube) -> None:
    ns = kube.namespace("size")
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map(ns, _config_map("huge", 4 * 1024 * 1024))
    assert err.value.status == 413
    assert "Request entity too large" in str(err.value.body)
