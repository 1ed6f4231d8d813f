"""The ``scale`` subresource: an ``autoscaling/v1`` Scale view of a workload's replicas.

``kubectl scale`` reads and patches ``.../<kind>/<name>/scale``; the server maps the Scale's
``spec.replicas`` onto the workload's and reports ``status.replicas`` and the label selector. Pure.
"""

from __future__ import annotations

import copy
from typing import Any

from localcluster.errors import ApiError, bad_request
from localcluster.resources import Resource

Obj = dict[str, Any]
SCALABLE = frozenset(
    {
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("", "replicationcontrollers"),
    }
)


def selector_text(selector: Any) -> str:
    """A label selector (LabelSelector or an RC's plain map) as ``key=value,key in (a,b)`` text."""
    if not isinstance(selector, dict):
        return ""
    labels = selector.get("matchLabels", selector if "matchExpressions" not in selector else {})
    parts = [f"{k}={v}" for k, v in sorted((labels or {}).items()) if isinstance(v, str)]
    for expr in selector.get("matchExpressions") or []:
        op, values = expr.get("operator"), ",".join(expr.get("values") or [])
        key = expr.get("key", "")
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                op, f"!{key}"
            )
        )
    return ",".join(parts)


def scale_of(res: Resource, obj: Obj) -> Obj:
    md = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md
        },
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 1)},
        "status": {
            "replicas": obj.get("status", {}).get("replicas", 0),
            "selector": selector_text(obj.get("spec", {}).get("selector")),
        },
    }


def with_replicas(obj: Obj, scale: Any) -> Obj:
    """``obj`` with the replicas of a written Scale (checked, with its resourceVersion precondition)."""
    if not isinstance(scale, dict) or not isinstance(scale.get("spec"), dict):
        raise bad_request("the body must be a Scale with a spec")
    replicas = scale["spec"].get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise ApiError(
            422,
            "Invalid",
            f'Scale.autoscaling "{obj["metadata"]["name"]}" is invalid: spec.replicas: '
            f"Invalid value: {replicas!r}: must be greater than or equal to 0",
        )
    new = copy.deepcopy(obj)
    new["spec"]["replicas"] = replicas
    wanted = (scale.get("metadata") or {}).get("resourceVersion")
    new["metadata"]["resourceVersion"] = wanted or obj["metadata"]["resourceVersion"]
    return new
