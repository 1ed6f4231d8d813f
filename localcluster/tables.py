"""Table output (``application/json;as=Table;v=1;g=meta.k8s.io``) so ``kubectl get`` prints columns.

Built-in kinds get the columns kube-apiserver prints; custom resources get their CRD's
``additionalPrinterColumns`` (simple JSONPath), else NAME and AGE. Column definitions are a data
table; cells are computed by small pure functions.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from localcluster.resources import Resource
from localcluster.selectors import dotted

Obj = dict[str, Any]
Cell = Callable[[Obj], Any]


def age(timestamp: str | None, now: datetime.datetime | None = None) -> str:
    """A human duration like kubectl's: 5s, 3m, 2h, 4d (short forms kept for readability)."""
    if not timestamp:
        return "<unknown>"
    when = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    seconds = int(((now or datetime.datetime.now(datetime.UTC)) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= 120):
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _age(obj: Obj) -> str:
    return age(obj["metadata"].get("creationTimestamp"))


def _pod_ready(obj: Obj) -> str:
    statuses = obj.get("status", {}).get("containerStatuses") or []
    total = len(obj.get("spec", {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(obj: Obj) -> str:
    if obj["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for status in obj.get("status", {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"])
    return str(obj.get("status", {}).get("phase") or "Pending")


def _restarts(obj: Obj) -> int:
    return sum(int(s.get("restartCount", 0)) for s in obj.get("status", {}).get("containerStatuses") or [])


def _job_status(obj: Obj) -> str:
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return "Suspended" if obj.get("spec", {}).get("suspend") else "Running"


def _node_status(obj: Obj) -> str:
    ready = [c for c in obj.get("status", {}).get("conditions") or [] if c.get("type") == "Ready"]
    return "Ready" if ready and ready[0].get("status") == "True" else "NotReady"


def _path(path: str, default: Any = "") -> Cell:
    return lambda obj: dotted(obj, path) or default


def _ports(obj: Obj) -> str:
    ports = obj.get("spec", {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _ratio(ready: str, want: str) -> Cell:
    return lambda obj: f"{dotted(obj, ready) or 0}/{dotted(obj, want) or 0}"


def _name(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def _event_object(obj: Obj) -> str:
    ref = obj.get("involvedObject") or {}
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


def _event_source(obj: Obj) -> str:
    src = obj.get("source") or {}
    return ", ".join(str(src[k]) for k in ("component", "host") if src.get(k)) or str(
        obj.get("reportingComponent") or ""
    )


S, N = "string", "integer"
BUILTIN_COLUMNS: dict[str, list[tuple[str, str, Cell]]] = {
    "Pod": [
        ("Ready", S, _pod_ready),
        ("Status", S, _pod_status),
        ("Restarts", N, _restarts),
        ("Age", S, _age),
        ("IP", S, _path("status.podIP", "<none>")),
        ("Node", S, _path("spec.nodeName", "<none>")),
    ],
    "Deployment": [
        ("Ready", S, _ratio("status.readyReplicas", "spec.replicas")),
        ("Up-to-date", N, _path("status.updatedReplicas", 0)),
        ("Available", N, _path("status.availableReplicas", 0)),
        ("Age", S, _age),
    ],
    "ReplicaSet": [
        ("Desired", N, _path("spec.replicas", 0)),
        ("Current", N, _path("status.replicas", 0)),
        ("Ready", N, _path("status.readyReplicas", 0)),
        ("Age", S, _age),
    ],
    "StatefulSet": [("Ready", S, _ratio("status.readyReplicas", "spec.replicas")), ("Age", S, _age)],
    "DaemonSet": [
        ("Desired", N, _path("status.desiredNumberScheduled", 0)),
        ("Current", N, _path("status.currentNumberScheduled", 0)),
        ("Ready", N, _path("status.numberReady", 0)),
        ("Age", S, _age),
    ],
    "Namespace": [("Status", S, _path("status.phase")), ("Age", S, _age)],
    "Node": [
        ("Status", S, _node_status),
        ("Roles", S, lambda o: "<none>"),
        ("Age", S, _age),
        ("Version", S, _path("status.nodeInfo.kubeletVersion")),
    ],
    "Service": [
        ("Type", S, _path("spec.type", "ClusterIP")),
        ("Cluster-IP", S, _path("spec.clusterIP", "<none>")),
        ("External-IP", S, lambda o: "<none>"),
        ("Port(s)", S, _ports),
        ("Age", S, _age),
    ],
    "ConfigMap": [
        ("Data", N, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
        ("Age", S, _age),
    ],
    "Secret": [
        ("Type", S, _path("type", "Opaque")),
        ("Data", N, lambda o: len(o.get("data") or {})),
        ("Age", S, _age),
    ],
    "Lease": [("Holder", S, _path("spec.holderIdentity")), ("Age", S, _age)],
    "Job": [
        ("Status", S, _job_status),
        (
            "Completions",
            S,
            lambda o: f"{dotted(o, 'status.succeeded') or 0}/{dotted(o, 'spec.completions') or 1}",
        ),
        ("Age", S, _age),
    ],
    "CronJob": [
        ("Schedule", S, _path("spec.schedule")),
        ("Suspend", S, lambda o: str(bool(dotted(o, "spec.suspend") == "True"))),
        ("Active", N, lambda o: len(o.get("status", {}).get("active") or [])),
        ("Age", S, _age),
    ],
    "ReplicationController": [
        ("Desired", N, _path("spec.replicas", 0)),
        ("Current", N, _path("status.replicas", 0)),
        ("Ready", N, _path("status.readyReplicas", 0)),
        ("Age", S, _age),
    ],
    "ServiceAccount": [("Secrets", N, lambda o: len(o.get("secrets") or [])), ("Age", S, _age)],
    "RoleBinding": [
        ("Role", S, lambda o: f"{dotted(o, 'roleRef.kind')}/{dotted(o, 'roleRef.name')}"),
        ("Age", S, _age),
    ],
    "ClusterRoleBinding": [
        ("Role", S, lambda o: f"{dotted(o, 'roleRef.kind')}/{dotted(o, 'roleRef.name')}"),
        ("Age", S, _age),
    ],
    "Event": [
        ("Last Seen", S, lambda o: age(o.get("lastTimestamp") or o.get("eventTime"))),
        ("Type", S, _path("type")),
        ("Reason", S, _path("reason")),
        ("Object", S, _event_object),
        ("Subobject", S, _path("involvedObject.fieldPath")),
        ("Source", S, _event_source),
        ("Message", S, _path("message")),
        ("First Seen", S, lambda o: age(o.get("firstTimestamp") or o.get("eventTime"))),
        ("Count", N, _path("count", 1)),
        ("Name", S, _name),
    ],
}
_WIDE = {"IP", "Node", "Subobject", "Source", "First Seen", "Count", "Name"}
_NAME_LAST = {"Event"}


def _json_path(path: str) -> Cell:
    def cell(obj: Obj) -> Any:
        cur: Any = obj
        for part in path.strip().lstrip(".").split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        return json.dumps(cur, separators=(",", ":")) if isinstance(cur, (dict, list)) else cur

    return cell


def _date_cell(read: Cell) -> Cell:
    return lambda obj: age(read(obj))


def _crd_columns(res: Resource) -> list[tuple[str, str, Cell]]:
    out: list[tuple[str, str, Cell]] = []
    for col in res.printer_columns:
        read = _json_path(col.get("jsonPath", ""))
        if col.get("type") == "date":
            out.append((col["name"], "string", _date_cell(read)))
        else:
            out.append((col["name"], col.get("type", "string"), read))
    return out or [("Age", "string", _age)]


def columns(res: Resource) -> list[tuple[str, str, Cell]]:
    if not res.builtin:
        return _crd_columns(res)
    return BUILTIN_COLUMNS.get(res.kind, [("Age", S, _age)])


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(res: Resource, objects: list[Obj], list_meta: Obj, include: str = "Metadata") -> Obj:
    """A ``meta.k8s.io/v1`` Table of ``objects``; ``include`` is the ``includeObject`` policy."""
    cols = columns(res)
    leading: list[tuple[str, str, Cell]] = [("Name", S, _name)]
    if res.builtin and res.kind in _NAME_LAST:
        leading = []
    cols = leading + cols
    definitions = [
        {
            "name": name,
            "type": typ,
            "format": "name" if name == "Name" else "",
            "description": name,
            "priority": 1 if name in _WIDE and (name != "Name" or not leading) else 0,
        }
        for name, typ, _ in cols
    ]
    rows = [
        {
            "cells": [fn(obj) for _, _, fn in cols],
            "object": _row_object(obj, include),
        }
        for obj in objects
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }


def wants_table(accept: str | None) -> bool:
    return "as=Table" in (accept or "")
