"""Services for pods: ClusterIP load balancing with iptables, as kube-proxy's iptables mode does it.

``service_rules`` (pure) turns Service objects with a ``spec.clusterIP`` and the pods their selector
picks (Running and Ready, with an IP), or the Endpoints of a Service without selector, into one rule per port:
the endpoints' addresses and target ports (numbers or named container ports). ``nat_lines`` (pure)
renders them as ``iptables -t nat`` rules in the cluster's own chain: DNAT to one endpoint chosen at
random (``statistic`` module, equal odds), and masquerade for hairpin traffic. ``ServiceProxy`` hooks
the chain into PREROUTING for the cluster's pod subnet only (clusters side by side keep to their own
pods), rewrites it when the rules change, and removes every trace on ``close``.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceRule:
    cluster_ip: str
    port: int
    protocol: str
    backends: tuple[tuple[str, int], ...]


def _target_port(port: dict[str, Any], container_ports: list[dict[str, Any]]) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    named = [p.get("containerPort") for p in container_ports if p.get("name") == target]
    return int(named[0]) if named and named[0] else None


def _selected(selector: dict[str, str], pod: dict[str, Any]) -> bool:
    labels = pod.get("metadata", {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _ready(pod: dict[str, Any]) -> bool:
    """The pod's ``Ready`` condition (readiness probes passed); a pod without conditions counts as ready."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return all(c.get("status") == "True" for c in conditions if c.get("type") == "Ready")


def _endpoint_rules(svc: dict[str, Any], endpoints: list[dict[str, Any]]) -> list[ServiceRule]:
    """A Service without selector (``default/kubernetes``) goes to the addresses of its Endpoints."""
    meta, spec = svc["metadata"], svc.get("spec") or {}
    found = [
        e
        for e in endpoints
        if (e["metadata"].get("namespace"), e["metadata"]["name"]) == (meta.get("namespace"), meta["name"])
    ]
    rules = []
    for port in spec.get("ports") or []:
        backends = [
            (str(a["ip"]), int(p["port"]))
            for e in found
            for subset in e.get("subsets") or []
            for a in subset.get("addresses") or []
            for p in subset.get("ports") or []
            if p.get("name", "") == port.get("name", "") or len(spec.get("ports") or []) == 1
        ]
        protocol = str(port.get("protocol", "TCP")).lower()
        rules.append(ServiceRule(spec["clusterIP"], int(port["port"]), protocol, tuple(sorted(backends))))
    return rules


def service_rules(
    services: list[dict[str, Any]], pods: list[dict[str, Any]], endpoints: list[dict[str, Any]] | None = None
) -> list[ServiceRule]:
    """One rule per port of every ClusterIP Service: to its pods, or to its Endpoints without selector."""
    rules = []
    for svc in services:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            continue
        if not spec.get("selector"):
            rules += _endpoint_rules(svc, endpoints or [])
            continue
        ns = svc["metadata"].get("namespace")
        ready = [
            p
            for p in pods
            if p["metadata"].get("namespace") == ns
            and _selected(spec["selector"], p)
            and (p.get("status") or {}).get("phase") == "Running"
            and _ready(p)
            and (p.get("status") or {}).get("podIP")
            and not p["metadata"].get("deletionTimestamp")
        ]
        for port in spec.get("ports") or []:
            backends = []
            for pod in ready:
                ports = [cp for c in pod["spec"].get("containers") or [] for cp in c.get("ports") or []]
                target = _target_port(port, ports)
                if target:
                    backends.append((str(pod["status"]["podIP"]), target))
            rules.append(
                ServiceRule(
                    ip, int(port["port"]), str(port.get("protocol", "TCP")).lower(), tuple(sorted(backends))
                )
            )
    return sorted(rules, key=lambda r: (r.cluster_ip, r.port, r.protocol))


def nat_lines(chain: str, rules: list[ServiceRule]) -> list[list[str]]:
    """``iptables -t nat`` arguments that fill ``chain`` (pure)."""
    lines = []
    for rule in rules:
        match = ["-d", f"{rule.cluster_ip}/32", "-p", rule.protocol, "--dport", str(rule.port)]
        count = len(rule.backends)
        for i, (ip, port) in enumerate(rule.backends):
            odds = (
                []
                if i == count - 1
                else ["-m", "statistic", "--mode", "random", "--probability", f"{1 / (count - i):.5f}"]
            )
            lines.append(["-A", chain, *match, *odds, "-j", "DNAT", "--to-destination", f"{ip}:{port}"])
    return lines


def _iptables(*args: str) -> bool:
    proc = subprocess.run(
        ["iptables", "-w", "5", "-t", "nat", *args], capture_output=True, text=True, check=False, timeout=30
    )
    if proc.returncode != 0:
        log.debug("iptables %s failed: %s", " ".join(args), proc.stderr.strip())
    return proc.returncode == 0


class ServiceProxy:
    """The cluster's kube-proxy: its own nat chains, hooked in for its pod subnet only."""

    def __init__(self, tag: str, subnet: str) -> None:
        self.chain = f"LC-SVC-{tag}"[:28]
        self.post = f"LC-POST-{tag}"[:28]
        self.subnet = subnet
        self._lines: list[list[str]] | None = None
        self._hooks = [
            ("PREROUTING", ["-s", subnet, "-j", self.chain]),
            ("POSTROUTING", ["-s", subnet, "-j", self.post]),
        ]

    def start(self) -> None:
        for chain in (self.chain, self.post):
            _iptables("-N", chain)
        _iptables(
            "-A",
            self.post,
            "-s",
            self.subnet,
            "-d",
            self.subnet,
            "-m",
            "conntrack",
            "--ctstate",
            "DNAT",
            "-j",
            "MASQUERADE",
        )
        for parent, spec in self._hooks:
            if not _iptables("-C", parent, *spec):
                _iptables("-I", parent, *spec)

    def sync(self, rules: list[ServiceRule]) -> None:
        lines = nat_lines(self.chain, rules)
        if lines == self._lines:
            return
        _iptables("-F", self.chain)
        for line in lines:
            _iptables(*line)
        self._lines = lines
        log.info("Synced service rules chain=%s rules=%d", self.chain, len(lines))

    def close(self) -> None:
        for parent, spec in self._hooks:
            while _iptables("-D", parent, *spec):
                pass
        for chain in (self.chain, self.post):
            _iptables("-F", chain)
            _iptables("-X", chain)
