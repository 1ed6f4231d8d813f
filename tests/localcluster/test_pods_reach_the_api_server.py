"""Pods reach the API server in-cluster: the ``kubernetes`` Service, its CA and the pod's own token.

A pod's ServiceAccount volume and ``KUBERNETES_SERVICE_*`` env are enough for curl (the curl image)
and for the official ``kubernetes`` client's ``load_incluster_config()`` (Debian's python3 in the
python image, the client from this machine's virtualenv on a read-only hostPath) to call the API over
HTTPS through the Service's ClusterIP; ``hostNetwork`` pods reach it at the Endpoints' address.
"""

from __future__ import annotations

import json
import os
import pathlib

import kubernetes
import pytest

from tests.localcluster.support import Kube, eventually, running_pod

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd nodes need root")
SLEEP = ["/bin/sh", "-c", "sleep infinity"]
SA = "/var/run/secrets/kubernetes.io/serviceaccount"
CURL = (
    'curl -sS --cacert {sa}/ca.crt -H "Authorization: Bearer {token}" '
    "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/{ns}/pods"
)



@pytest.fixture(scope="module")
def ns(kube: Kube) -> str:
    return kube.namespace("incluster")


@pytest.mark.parametrize("host_network", [False, True])
def test_curl_in_a_pod_lists_pods_with_its_token_and_ca(kube: Kube, ns: str, host_network: bool) -> None:
    name = f"curl-{str(host_network).lower()}"
    spec = {
        "hostNetwork": host_network,
        "containers": [{"name": "c", "image": "curlimages/curl:7.87.0", "command": SLEEP}],
    }
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": name}, "spec": spec})
    running_pod(kube, ns, name, timeout=180)
    script = CURL.format(sa=SA, token=f"$(cat {SA}/token)", ns=ns)
    answer = json.loads(kube.kubectl("exec", "-n", ns, name, "--", "sh", "-c", script))
    assert answer["kind"] == "PodList"
    assert name in [p["metadata"]["name"] for p in answer["items"]]
    forged = CURL.format(sa=SA, token="a.b.c", ns=ns) + ' -o /dev/null -w "%{http_code}"'
    assert kube.kubectl("exec", "-n", ns, name, "--", "sh", "-c", forged) == "401"


def test_the_kubernetes_client_in_a_pod_loads_the_in_cluster_config(kube: Kube, ns: str) -> None:
    site = pathlib.Path(kubernetes.__file__).resolve().parents[1]
    program = (
        "import os; from kubernetes import client, config; config.load_incluster_config(); "
        "pod = client.CoreV1Api().read_namespaced_pod(os.environ['POD'], os.environ['NS']); "
        "print(pod.metadata.name, pod.status.phase)"
    )
    env = [
        {"name": "PYTHONPATH", "value": "/site"},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    container = {
        "name": "c",
        "image": "python:3",
        "command": ["python3", "-c", program],
        "env": env,
        "volumeMounts": [{"name": "site", "mountPath": "/site", "readOnly": True}],
    }
    spec = {
        "restartPolicy": "Never",
        "volumes": [{"name": "site", "hostPath": {"path": str(site)}}],
        "containers": [container],
    }
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": "client"}, "spec": spec})
    eventually(
        lambda: kube.core.read_namespaced_pod("client", ns).status.phase in ("Succeeded", "Failed"), 300
    )
    logs = kube.kubectl("logs", "-n", ns, "client")
    assert logs == "client Running\n", logs
