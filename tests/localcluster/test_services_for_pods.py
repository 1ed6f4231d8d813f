"""Services for pods on containerd nodes: a ClusterIP reaches the selected pods' target port through
the cluster's iptables rules, and Service names resolve inside pods through the cluster's DNS."""

from __future__ import annotations

import os
import secrets

import pytest

from localcluster.runtime import dns
from tests.localcluster.support import Kube, eventually

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd nodes need root")


def _running(kube: Kube, ns: str, name: str) -> None:
    eventually(
        lambda: getattr(kube.core.read_namespaced_pod(name, ns).status, "phase", None) == "Running",
        timeout=120,
    )


def test_a_service_name_reaches_the_selected_pods_target_port(kube: Kube) -> None:
    ns = kube.namespace("svc")
    ip = f"10.100.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 2}"
    web = {
        "name": "httpd",
        "image": "busybox",
        "command": ["httpd", "-f", "-p", "8080", "-h", "/etc"],
        "ports": [{"name": "http", "containerPort": 8080}],
    }
    for name in ("web-a", "web-b"):
        kube.core.create_namespaced_pod(
            ns, {"metadata": {"name": name, "labels": {"app": "web"}}, "spec": {"containers": [web]}}
        )
    kube.core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": "client"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "image": "curlimages/curl:7.87.0",
                        "command": ["/bin/sh", "-c", "sleep infinity"],
                    }
                ]
            },
        },
    )
    kube.core.create_namespaced_service(
        ns,
        {
            "metadata": {"name": "web-svc"},
            "spec": {
                "clusterIP": ip,
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": "http"}],
            },
        },
    )
    for name in ("web-a", "web-b", "client"):
        _running(kube, ns, name)

    def fetch(url: str) -> str:
        return kube.kubectl(
            "exec", "-n", ns, "client", "--", "curl", "-s", "--max-time", "3", url, check=False
        )

    answers = {
        eventually(
            lambda: (a := fetch("http://web-svc/hostname").strip()) in ("web-a", "web-b") and a, timeout=30
        )
        for _ in range(12)
    }
    assert answers <= {"web-a", "web-b"} and answers
    assert fetch(f"http://web-svc.{ns}.svc.cluster.local:80/hostname").strip() in {"web-a", "web-b"}
    assert fetch(f"http://{ip}/hostname").strip() in {"web-a", "web-b"}
    resolv = kube.kubectl("exec", "-n", ns, "client", "--", "cat", "/etc/resolv.conf")
    assert f"search {' '.join(dns.search_path(ns))}" in resolv


def test_dns_answers_service_names_and_refuses_the_rest() -> None:
    query = bytes.fromhex("1234 0100 0001 0000 0000 0000".replace(" ", ""))
    name = b"".join(bytes([len(p)]) + p for p in b"web.demo.svc.cluster.local".split(b".")) + b"\0"
    packet = query + name + b"\x00\x01\x00\x01"
    reply = dns.answer(packet, lambda ns, svc: "10.96.0.9" if (ns, svc) == ("demo", "web") else None)
    assert reply is not None and reply[:2] == b"\x12\x34" and reply[-4:] == bytes([10, 96, 0, 9])
    assert reply[3] & 0x0F == 0
    other = dns.answer(packet, lambda ns, svc: None)
    assert other is not None and other[3] & 0x0F == 3  # NXDOMAIN
