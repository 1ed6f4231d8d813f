"""``python app.py webhook``: serve ``/mutate`` and ``/validate`` over TLS.

Creates (or reuses, or renews) the certificates in ``--cert-dir`` first. With ``--policy-file`` it
runs standalone, without a cluster; in the manager the policies come from a watch instead.

Examples:
    python app.py webhook --cert-dir /tmp/varmor-certs --port 3443 --policy-file vcpol.yaml
    python app.py webhook --cert-dir certs --host 10.0.0.7 --address 10.0.0.7
"""

from __future__ import annotations

import argparse
import logging
import pathlib

from api.names import DEFAULT_INSTALL_NAMESPACE
from webhook.settings import DEFAULT_MAX_BODY, WebhookSettings

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cert-dir", type=pathlib.Path, required=True,
                        help="directory of ca.crt, ca.key, tls.crt, tls.key (created when absent)")
    parser.add_argument("--port", type=int, default=3443, help="HTTPS port (default 3443)")
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument("--policy-file", type=pathlib.Path, action="append", default=[],
                        help="YAML with VarmorPolicy/VarmorClusterPolicy documents (repeatable)")
    parser.add_argument("--namespace", default=DEFAULT_INSTALL_NAMESPACE,
                        help=f"install namespace (default {DEFAULT_INSTALL_NAMESPACE})")
    parser.add_argument("--address", action="append", default=[],
                        help="extra DNS name or IP for the serving certificate (repeatable)")
    parser.add_argument("--kubernetes-version", default="1.30",
                        help="API server version; 1.30+ uses securityContext.appArmorProfile")
    parser.add_argument("--bpf-exclusive-mode", action="store_true", help="BPF policies unconfine AppArmor")
    parser.add_argument("--disable-behavior-modeling", action="store_true",
                        help="reject BehaviorModeling policies, as a manager without the feature does")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY)
    parser.add_argument("--cert-check-seconds", type=float, default=12 * 3600,
                        help="how often to check the certificates and renew them (default 12 h)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--worker-class", choices=("gevent", "gthread"), default="gevent",
                        help="gevent (default) keeps slow clients from starving the server; gthread "
                        "is kept for comparison in the benchmarks")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--worker-connections", type=int, default=1000,
                        help="open connections per worker at most (default 1000)")
    parser.add_argument("--handshake-timeout", type=float, default=10.0,
                        help="seconds a client has to finish the TLS handshake (default 10)")


def settings_from(args: argparse.Namespace) -> WebhookSettings:
    addresses = list(args.address)
    if args.host not in ("0.0.0.0", "::", "") and args.host not in addresses:
        addresses.append(args.host)
    return WebhookSettings(
        cert_dir=args.cert_dir, host=args.host, port=args.port, install_namespace=args.namespace,
        addresses=tuple(addresses), policy_files=tuple(args.policy_file),
        kubernetes_version=args.kubernetes_version, bpf_exclusive_mode=args.bpf_exclusive_mode,
        behavior_modeling_enabled=not args.disable_behavior_modeling, max_body_bytes=args.max_body_bytes,
        workers=args.workers, threads=args.threads, cert_check_seconds=args.cert_check_seconds,
        worker_class=args.worker_class, worker_connections=args.worker_connections,
        handshake_timeout_seconds=args.handshake_timeout,
    )


def _keep_certificates_fresh(settings: WebhookSettings) -> None:
    """Create or renew the certificates now, then every ``cert_check_seconds``; the workers load
    renewed files on their next handshakes (``serving.tls``), without a restart."""
    import datetime

    from certs.authority import ServingNames
    from certs.renewing import Renewer
    from certs.rotating import ensure
    from certs.stores import DirectoryStore

    store = DirectoryStore(settings.cert_dir)
    names = ServingNames(settings.install_namespace, settings.addresses)
    outcome = ensure(store, names, datetime.datetime.now(datetime.UTC))
    log.info("Prepared certificates dir=%s decision=%s reason=%r", settings.cert_dir, outcome.decision,
             outcome.reason)
    Renewer(store, names, lambda: None, datetime.timedelta(seconds=settings.cert_check_seconds)).start()


def run(args: argparse.Namespace) -> int:
    from webhook.policies import FilePolicySource, PolicySource, StaticPolicySource
    from webhook.server import create_app
    from webhook.serving import serve

    try:
        settings = settings_from(args)
        settings.mutation_options()
        settings.serving_settings()
        source: PolicySource = (FilePolicySource(settings.policy_files) if settings.policy_files
                                else StaticPolicySource())
    except (ValueError, OSError) as err:
        log.error("Refused to start the webhook: %s", err)
        return 2
    _keep_certificates_fresh(settings)
    log.info("Serving webhooks address=%s:%d policies=%d", settings.host, settings.port,
             len(source.policies()))
    serve(create_app(settings, source), settings)
    return 0
