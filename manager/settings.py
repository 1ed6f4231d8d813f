"""The manager's typed settings, built once from flags and the environment by ``manager.cli``."""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass

from api.names import DEFAULT_MATCH_LABEL, STATUS_SERVICE_PORT, WEBHOOK_CONTAINER_PORT

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def go_duration(text: str) -> float:
    """Seconds of a Go duration such as ``2h``, ``1h30m``, ``90s`` (upstream's ``--statusUpdateCycle``)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r} (expected e.g. 2h, 30m, 90s)")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def go_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "t", "true", "yes"):
        return True
    if lowered in ("0", "f", "false", "no"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


@dataclass(frozen=True)
class ManagerSettings:
    kubeconfig: pathlib.Path | None
    install_namespace: str
    identity: str  # the pod name in a cluster; the Lease holder
    pod_name: str  # "" outside a cluster: no pod to label
    cert_dir: pathlib.Path
    apm_dir: pathlib.Path
    match_label: str = DEFAULT_MATCH_LABEL
    behavior_modeling: bool = False
    restart_existing: bool = True
    status_update_cycle: float = 7200.0
    webhook_timeout: int = 10
    host: str = "0.0.0.0"
    webhook_port: int = WEBHOOK_CONTAINER_PORT
    status_port: int = STATUS_SERVICE_PORT
    addresses: tuple[str, ...] = ()
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    kubernetes_version: str = "1.30"
    max_report_bytes: int = 8 * 1024 * 1024
    webhook_workers: int = 2
    status_threads: int = 32
    agents: int = 0  # 0: the agent DaemonSet's desired count, or the node count without one
    manager_ip: str = "127.0.0.1"  # where the API server reaches the webhook outside a cluster
    cert_check_interval: float = 12 * 3600.0  # upstream checks every 12 h ...
    cert_renew_margin: float = 12 * 3600.0  # ... whether the chain is still valid 12 h later
    metrics_dir: pathlib.Path | None = None  # prometheus_client's multiprocess directory (set by ``cli``)
