"""Kubernetes Events written by the local cluster's kubelets and scheduler.

``event_object`` is the core/v1 Event a kubelet posts (pure): involved object with the container's
``fieldPath``, reason, message, type, source, timestamps. ``record`` stores it through the API
server without admission, the simplest faithful route (kubelet posts them to the API too).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from localcluster.apiserver import ApiServer
from localcluster.errors import ApiError

log = logging.getLogger(__name__)


def event_object(
    involved: dict[str, Any], container: str, kind: str, reason: str, message: str, component: str, host: str
) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    obj: dict[str, Any] = {
        k: involved[k] for k in ("kind", "namespace", "name", "uid", "apiVersion") if k in involved
    }
    if container:
        obj["fieldPath"] = f"spec.containers{{{container}}}"
    return {
        "metadata": {
            "name": f"{involved['name']}.{secrets.token_hex(8)}",
            "namespace": involved.get("namespace", "default"),
        },
        "involvedObject": obj,
        "reason": reason,
        "message": message,
        "type": kind,
        "source": {"component": component, **({"host": host} if host else {})},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "eventTime": None,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": host,
        "action": reason,
    }


async def record(api: ApiServer, event: dict[str, Any]) -> None:
    """Store one Event; a failure is logged, never raised (events are best effort)."""
    try:
        await api.create(api.res("", "events"), event["metadata"]["namespace"], event, admit=False)
    except ApiError as err:
        log.warning("Recording event failed reason=%s error=%s", event.get("reason"), err.message)
