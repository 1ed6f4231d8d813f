"""Reports to the leader's status service: profile status and, at a window's end, BehaviorData.

Both go over HTTPS to ``varmor-status-svc`` (upstream spec §3.8) with the node's projected
ServiceAccount token (audience ``varmor-manager``) in the ``Token`` header. The token file is
re-read before every attempt, so a rotated token or a 401 costs one retry. The service is found
anew for every attempt (the leader may have changed) and, unlike upstream, its certificate is
checked against the CA the manager publishes in its webhook configuration's ``caBundle``.
BehaviorData is upstream's body
(``namespace, armorProfile, nodeName, status, message, dynamicResult``) plus our model's
``coverage`` and ``provenance`` and the window's ``uid``, so that the manager merges a node's
report once per window however often it arrives. Delivery is retried with capped exponential
back-off and jitter until the service confirms with a 2xx, or the caller gives up.
"""

from __future__ import annotations

import json
import logging
import pathlib
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import tenacity
import urllib3

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The status service did not confirm (status, reason); retried by ``deliver``."""


@dataclass(frozen=True)
class Endpoint:
    """Where the status service answers now, and how to check its certificate."""

    url: str  # https://10.244.0.7:8080 (the leader pod) or https://varmor-status-svc.varmor.svc:8080
    ca_bundle: str | None = None  # PEM; None trusts the system store
    server_hostname: str | None = None  # the name its certificate carries, when the URL has an IP


def behavior_data(namespace: str, profile: str, node: str, window_uid: str,
                  model_data: Mapping[str, Any]) -> dict[str, Any]:
    """The BehaviorData body of one window's report (``model_data`` from ``generator.codec``)."""
    return {"namespace": namespace, "armorProfile": profile, "nodeName": node, "window": window_uid,
            "status": "succeeded", "message": "", **model_data}


def profile_status(namespace: str, profile: str, node: str, ok: bool, message: str) -> dict[str, Any]:
    return {"namespace": namespace, "armorProfile": profile, "nodeName": node,
            "status": "succeeded" if ok else "failed", "message": message}


class StatusClient:
    """Posts to the status service; ``resolve`` finds it anew for every attempt (leaders change)."""

    def __init__(self, resolve: Callable[[], Endpoint], token_path: pathlib.Path,
                 timeout: float = 40.0) -> None:
        self.resolve, self.token_path, self.timeout = resolve, token_path, timeout
        self._pools: dict[tuple[str | None, str | None], urllib3.PoolManager] = {}

    def _pool(self, endpoint: Endpoint) -> urllib3.PoolManager:
        key = (endpoint.ca_bundle, endpoint.server_hostname)
        if key not in self._pools:
            context = ssl.create_default_context(cadata=endpoint.ca_bundle) if endpoint.ca_bundle else None
            name = endpoint.server_hostname
            extra: dict[str, Any] = {"server_hostname": name} if name else {}
            self._pools[key] = urllib3.PoolManager(ssl_context=context, retries=False,
                                                   timeout=urllib3.Timeout(total=self.timeout), **extra)
        return self._pools[key]

    def _token(self) -> str:
        try:
            return self.token_path.read_text().strip()
        except OSError as error:
            raise DeliveryError(f"cannot read the token {self.token_path}: {error.strerror}") from None

    def post(self, path: str, body: Mapping[str, Any]) -> None:
        """One attempt; DeliveryError unless the service answers 2xx."""
        try:
            endpoint = self.resolve()
            response = self._pool(endpoint).request(
                "POST", endpoint.url.rstrip("/") + path, body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Token": self._token()})
        except (urllib3.exceptions.HTTPError, LookupError) as error:
            raise DeliveryError(f"{path}: {error}") from None
        if not 200 <= response.status < 300:
            raise DeliveryError(f"{path}: HTTP {response.status} {response.data[:200]!r}")


def deliver(client: StatusClient, path: str, body: Mapping[str, Any], stop: threading.Event,
            max_wait: float = 30.0, on_retry: Callable[[str], None] = lambda _m: None) -> bool:
    """Post until confirmed (True) or ``stop`` is set (False); back-off 0.5 s doubling to ``max_wait``."""

    def give_up(state: tenacity.RetryCallState) -> bool:
        return stop.is_set()

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        on_retry(str(error))
        log.warning("Report not confirmed, retrying path=%s attempt=%d error=%s", path,
                    state.attempt_number, error)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(DeliveryError), stop=give_up,
        wait=tenacity.wait_exponential_jitter(multiplier=0.5, max=max_wait, jitter=0.5),
        sleep=lambda seconds: _pause(stop, seconds), before_sleep=before_sleep, reraise=True)
    try:
        retrying(client.post, path, body)
    except DeliveryError:
        return False
    return True


def _pause(stop: threading.Event, seconds: float) -> None:
    stop.wait(seconds)
