"""What kube-apiserver's registries fill in when an object is created, beyond metadata.

A Pod starts ``Pending`` with its QoS class; a Service gets a ClusterIP from 10.96.0.0/12 (unless
headless or ExternalName), its IP family fields, default port protocol and target port, and an empty
load-balancer status; a Job starts with an empty status. Pure functions that change ``obj`` in place.
"""

from __future__ import annotations

import ipaddress
from typing import Any

Obj = dict[str, Any]
SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")


def qos_class(spec: Obj) -> str:
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        r.get("limits", {}).get(k) and r.get("requests", {}).get(k, r["limits"][k]) == r["limits"][k]
        for r in resources
        for k in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


def next_cluster_ip(used: set[str]) -> str:
    for offset in range(10, SERVICE_RANGE.num_addresses - 1):
        ip = str(SERVICE_RANGE.network_address + offset)
        if ip not in used:
            return ip
    raise RuntimeError("the service IP range is exhausted")


def _service(obj: Obj, used: set[str]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = next_cluster_ip(used)
        spec.setdefault("clusterIPs", [spec["clusterIP"]] if spec["clusterIP"] != "None" else ["None"])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    obj["status"] = {"loadBalancer": {}}


def job_defaults(job: Obj) -> None:
    """Default a new Job's spec (pure, in place): counts, selector and pod template labels."""
    spec = job.setdefault("spec", {})
    uid, name = job["metadata"]["uid"], job["metadata"]["name"]
    for key, value in (("parallelism", 1), ("completions", 1), ("backoffLimit", 6)):
        spec.setdefault(key, value)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    }
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template_md = spec.setdefault("template", {}).setdefault("metadata", {})
    template_md.setdefault("labels", {}).update(labels)


def complete(key: tuple[str, str], obj: Obj, used_cluster_ips: set[str]) -> None:
    """Fill in the created object's server-set spec and initial status."""
    if key == ("", "pods"):
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
    elif key == ("", "services"):
        _service(obj, used_cluster_ips)
    elif key == ("", "replicationcontrollers"):
        obj["status"] = {"replicas": 0}
    elif key in (("batch", "jobs"), ("batch", "cronjobs")):
        obj["status"] = {}
    if key == ("batch", "jobs"):
        job_defaults(obj)
