"""``python app.py manager``: the vArmor manager, one process per replica.

Every replica serves the admission webhook (policies learned from the cluster). The replica holding
the ``varmor-manager`` Lease also runs the policy controllers and the status service, and labels its
pod ``identity=leader``; it exits when it loses the Lease. Flags are upstream's; the install
namespace and pod name come from ``POD_NAMESPACE`` and ``POD_NAME``.

Examples:
    python app.py manager --kubeconfig ~/.kube/config --enableBehaviorModeling --cert-dir /tmp/varmor
    python app.py manager --webhookMatchLabel= --restartExistWorkloads=false --statusUpdateCycle 30m
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import signal
import socket
import sys
import tempfile
import threading
from dataclasses import replace
from typing import Any

from api.names import DEFAULT_INSTALL_NAMESPACE, DEFAULT_MATCH_LABEL
from manager.settings import ManagerSettings, go_bool, go_duration

log = logging.getLogger(__name__)


def _flag_bool(text: str) -> bool:
    try:
        return go_bool(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--kubeconfig", type=pathlib.Path, help="kubeconfig for out-of-cluster use (default: in-cluster)")
    add("--webhookMatchLabel", default=DEFAULT_MATCH_LABEL,
        help="key=value that opts workloads in; empty: every workload")
    add("--enableBehaviorModeling", type=_flag_bool, nargs="?", const=True, default=False)
    add("--restartExistWorkloads", type=_flag_bool, nargs="?", const=True, default=True)
    add("--statusUpdateCycle", default="2h", help="how often every policy is re-checked (Go duration)")
    add("--webhookTimeout", type=int, default=10)
    add("--cert-dir", type=pathlib.Path, default=pathlib.Path("/tmp/varmor-manager/certs"))
    add("--apm-dir", type=pathlib.Path, default=pathlib.Path("/var/log/varmor/apmdata"),
        help="where models too large for one object are kept (LocalDisk)")
    add("--host", default="0.0.0.0")
    add("--webhook-port", type=int, default=3443)
    add("--status-port", type=int, default=8080)
    add("--address", action="append", default=[], help="extra certificate name or IP (repeatable)")
    add("--identity", default="", help="Lease holder name (default: POD_NAME, else the host name)")
    add("--lease-duration", type=int, default=15)
    add("--renew-deadline", type=int, default=10)
    add("--retry-period", type=int, default=2)
    add("--kubernetes-version", default="1.30")
    add("--managerIP", default="",
        help="address the API server uses to reach this manager outside a cluster (default: --host)")
    add("--cert-check-interval", default="12h", help="how often the certificates are checked (Go duration)")
    add("--cert-renew-margin", default="12h",
        help="renew a certificate that expires within this time (Go duration)")
    add("--agents", type=int, default=0,
        help="agents expected to report (default: the varmor-agent DaemonSet's desired count, else nodes)")


def settings_from(args: argparse.Namespace, environ: dict[str, str]) -> ManagerSettings:
    """The settings, or ValueError naming the bad flag."""
    from webhook.registrations import parse_match_label

    parse_match_label(args.webhookMatchLabel)
    if not (args.lease_duration > args.renew_deadline > 1.2 * args.retry_period and args.retry_period >= 1):
        raise ValueError("need --lease-duration > --renew-deadline > 1.2 × --retry-period >= 1.2")
    pod = environ.get("POD_NAME", "")
    return ManagerSettings(
        kubeconfig=args.kubeconfig,
        install_namespace=environ.get("POD_NAMESPACE") or DEFAULT_INSTALL_NAMESPACE,
        identity=args.identity or pod or socket.gethostname(), pod_name=pod, cert_dir=args.cert_dir,
        apm_dir=args.apm_dir, match_label=args.webhookMatchLabel,
        behavior_modeling=args.enableBehaviorModeling,
        restart_existing=args.restartExistWorkloads, status_update_cycle=go_duration(args.statusUpdateCycle),
        webhook_timeout=args.webhookTimeout, host=args.host, webhook_port=args.webhook_port,
        status_port=args.status_port, addresses=tuple(args.address), lease_duration=args.lease_duration,
        renew_deadline=args.renew_deadline, retry_period=args.retry_period,
        kubernetes_version=args.kubernetes_version, agents=max(args.agents, 0),
        cert_check_interval=_positive(go_duration(args.cert_check_interval), "--cert-check-interval"),
        cert_renew_margin=go_duration(args.cert_renew_margin),
        manager_ip=args.managerIP or (args.host if args.host not in ("0.0.0.0", "::", "") else "127.0.0.1"))


def _positive(seconds: float, flag: str) -> float:
    if seconds <= 0:
        raise ValueError(f"{flag} must be positive")
    return seconds


def _certificates(settings: ManagerSettings) -> None:
    import datetime

    from certs.rotating import ensure
    from certs.stores import DirectoryStore
    from manager.renewing import serving_names

    margin = datetime.timedelta(seconds=settings.cert_renew_margin)
    outcome = ensure(DirectoryStore(settings.cert_dir), serving_names(settings),
                     datetime.datetime.now(datetime.UTC), margin)
    log.info("Prepared certificates dir=%s decision=%s", settings.cert_dir, outcome.decision)


def run(args: argparse.Namespace) -> int:
    from controller.kube import api_client

    try:
        settings = settings_from(args, dict(os.environ))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        api = api_client(settings.kubeconfig)
    except Exception as error:  # the loader raises its own ConfigException, or OSError
        where = settings.kubeconfig or "the in-cluster ServiceAccount"
        print(f"error: cannot load the cluster configuration from {where}: {error}", file=sys.stderr)
        return 2
    try:
        _certificates(settings)
    except (OSError, ValueError) as error:
        print(f"error: cannot prepare certificates in {settings.cert_dir}: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="varmor-metrics-") as metrics:
        return _run(replace(settings, metrics_dir=_multiprocess_metrics(pathlib.Path(metrics))), api)


def _multiprocess_metrics(directory: pathlib.Path) -> pathlib.Path:
    """Every process of this replica (controllers, webhook and status workers) writes its Prometheus
    samples to ``directory``, so each ``/metrics`` shows all of them. prometheus_client reads the
    variable when it is first imported, which happens after this in every process."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return directory


def _run(settings: ManagerSettings, api: Any) -> int:
    from manager.running import Manager

    logging.getLogger("leaderelection").setLevel(logging.WARNING)  # it logs every renewal at INFO
    manager = Manager(settings, api, logging.getLevelName(logging.getLogger().level))
    stopped = threading.Event()

    def on_signal(_number: int, _frame: Any) -> None:
        stopped.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return manager.run(stopped)
