"""Kubernetes Events as the controllers and kubelets record them (``core/v1`` Event objects).

``event_for`` builds the Event for an object (pure); ``Recorder.record`` stores it, or, like
client-go's event correlator, bumps ``count`` and ``lastTimestamp`` of the same event (same object,
reason, message, source) instead of writing a duplicate. ``kubectl get events`` lists them and
``kubectl describe`` finds them with the ``involvedObject.*`` field selector.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Literal

from localcluster.apiserver import ApiServer, now_iso
from localcluster.errors import ApiError
from localcluster.storage import Obj

log = logging.getLogger(__name__)
EventType = Literal["Normal", "Warning"]


def involved(obj: Obj, field_path: str = "") -> Obj:
    md = obj["metadata"]
    ref = {
        "kind": obj.get("kind", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "name": md["name"],
        "uid": md.get("uid", ""),
        "resourceVersion": md.get("resourceVersion", ""),
    }
    if md.get("namespace"):
        ref["namespace"] = md["namespace"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


def event_for(
    obj: Obj,
    etype: EventType,
    reason: str,
    message: str,
    component: str,
    host: str = "",
    field_path: str = "",
) -> Obj:
    """A new Event about ``obj`` (pure apart from the clock)."""
    now = now_iso()
    source = {"component": component, **({"host": host} if host else {})}
    return {
        "metadata": {
            "name": f"{obj['metadata']['name']}.{time.time_ns():x}",
            "namespace": obj["metadata"].get("namespace") or "default",
        },
        "involvedObject": involved(obj, field_path),
        "reason": reason,
        "message": message,
        "type": etype,
        "source": source,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "reportingComponent": component,
        "reportingInstance": host or component,
    }


def _same(a: Obj, b: Obj) -> bool:
    keys = ("reason", "message", "type", "source")
    ia, ib = a["involvedObject"], b["involvedObject"]
    return all(a.get(k) == b.get(k) for k in keys) and (ia.get("uid"), ia.get("fieldPath")) == (
        ib.get("uid"),
        ib.get("fieldPath"),
    )


class Recorder:
    """Writes Events through the API server, aggregating repeats into ``count``."""

    def __init__(self, api: ApiServer, component: str, host: str = "") -> None:
        self.api = api
        self.component = component
        self.host = host

    async def record(
        self, obj: Obj, etype: EventType, reason: str, message: str, field_path: str = ""
    ) -> Obj | None:
        """Store the Event (or bump the existing one); a failure is logged, never raised."""
        new = event_for(obj, etype, reason, message, self.component, self.host, field_path)
        res = self.api.res("", "events")
        ns = new["metadata"]["namespace"]
        try:
            for old in self.api.store.list(res, ns):
                if _same(old, new):
                    bumped = copy.deepcopy(old)
                    bumped["count"] = int(old.get("count") or 1) + 1
                    bumped["lastTimestamp"] = new["lastTimestamp"]
                    return await self.api.update(res, ns, old["metadata"]["name"], bumped, admit=False)
            return await self.api.create(res, ns, new, admit=False)
        except ApiError as e:
            log.warning(
                "Failed to record event reason=%s object=%s error=%s", reason, obj["metadata"]["name"], e
            )
            return None
