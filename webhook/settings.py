"""The webhook's typed settings, built once by ``cli.run`` from flags and passed down."""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.names import DEFAULT_INSTALL_NAMESPACE
from serving.settings import ServingSettings, WorkerClass

if TYPE_CHECKING:  # the CLI imports this module for every command; keep it light
    from webhook.mutating import MutationOptions
    from webhook.validating import ValidationOptions

DEFAULT_MAX_BODY = 6 * 1024 * 1024  # the API server sends objects up to ~3 MiB, twice for an UPDATE


def apparmor_ga(kubernetes_version: str) -> bool:
    """Whether AppArmor is GA (``securityContext.appArmorProfile``): Kubernetes 1.30 and later."""
    found = re.match(r"^v?(\d+)\.(\d+)", kubernetes_version.strip())
    if not found:
        raise ValueError(f"not a Kubernetes version: {kubernetes_version!r} (expected e.g. 1.30)")
    return (int(found.group(1)), int(found.group(2))) >= (1, 30)


@dataclass(frozen=True)
class WebhookSettings:
    """Everything the admission handlers and the HTTPS server need."""

    cert_dir: pathlib.Path = pathlib.Path("certs")
    host: str = "0.0.0.0"
    port: int = 3443
    install_namespace: str = DEFAULT_INSTALL_NAMESPACE
    addresses: tuple[str, ...] = ()
    policy_files: tuple[pathlib.Path, ...] = ()
    kubernetes_version: str = "1.30"
    bpf_exclusive_mode: bool = False
    behavior_modeling_enabled: bool = True
    max_body_bytes: int = DEFAULT_MAX_BODY
    workers: int = 2
    threads: int = 4
    keepalive_seconds: int = 75
    cert_check_seconds: float = 12 * 3600
    worker_class: WorkerClass = "gevent"
    worker_connections: int = 1000
    handshake_timeout_seconds: float = 10.0
    metrics_dir: pathlib.Path | None = None  # prometheus_client's multiprocess directory (the manager's)

    def serving_settings(self) -> ServingSettings:
        """How ``serving`` runs the HTTPS server (validated there)."""
        return ServingSettings(
            cert_dir=self.cert_dir, host=self.host, port=self.port, workers=self.workers,
            worker_class=self.worker_class, threads=self.threads,
            worker_connections=self.worker_connections, keepalive_seconds=self.keepalive_seconds,
            handshake_timeout_seconds=self.handshake_timeout_seconds,
        )

    def mutation_options(self) -> MutationOptions:
        from webhook.mutating import MutationOptions

        return MutationOptions(self.install_namespace, apparmor_ga(self.kubernetes_version),
                               self.bpf_exclusive_mode)

    def validation_options(self) -> ValidationOptions:
        from webhook.validating import ValidationOptions

        return ValidationOptions(self.install_namespace, self.behavior_modeling_enabled)
