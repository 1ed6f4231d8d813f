"""Kubernetes label selectors (``matchLabels`` and ``matchExpressions``) over a label map.

Mirrors ``metav1.LabelSelectorAsSelector``: an empty selector matches everything, an invalid one is
an error (the caller treats it as "no match", as upstream does). ``NotIn`` and ``DoesNotExist``
match an object that lacks the label. ``to_query`` renders a selector for a list call's
``labelSelector`` parameter (the controller's rolling update, §3.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SelectorError(ValueError):
    """The selector cannot be evaluated (unknown operator, wrong value types)."""


def _requirement(expr: Any, labels: Mapping[str, Any]) -> bool:
    if not isinstance(expr, Mapping) or not isinstance(expr.get("key"), str):
        raise SelectorError("a matchExpressions entry needs a string key")
    key, operator, values = expr["key"], expr.get("operator"), expr.get("values") or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SelectorError(f"the values of {key!r} must be strings")
    if operator in ("In", "NotIn") and not values:
        raise SelectorError(f"operator {operator} on {key!r} needs values")
    if operator in ("Exists", "DoesNotExist") and values:
        raise SelectorError(f"operator {operator} on {key!r} takes no values")
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    raise SelectorError(f"unknown operator {operator!r}")


def matches(selector: Any, labels: Any) -> bool:
    """Whether ``labels`` satisfy ``selector``; raises ``SelectorError`` for an invalid selector."""
    if not isinstance(selector, Mapping):
        raise SelectorError("a selector must be a mapping")
    label_map: Mapping[str, Any] = labels if isinstance(labels, Mapping) else {}
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        raise SelectorError("matchLabels must be a mapping and matchExpressions a list")
    results = [_requirement({"key": k, "operator": "In", "values": [v]}, label_map)
               for k, v in match_labels.items()]
    results += [_requirement(expr, label_map) for expr in expressions]
    return all(results)


def _expression_query(expr: Any) -> str:
    _requirement(expr, {})  # validates the shape
    key, operator, values = expr["key"], expr["operator"], sorted(expr.get("values") or [])
    if operator == "Exists":
        return str(key)
    if operator == "DoesNotExist":
        return f"!{key}"
    return f"{key} {'in' if operator == 'In' else 'notin'} ({','.join(values)})"


def to_query(selector: Any, extra: Mapping[str, str] | None = None) -> str:
    """The ``labelSelector`` query string of ``selector`` plus ``extra`` labels; raises ``SelectorError``."""
    if selector is None:
        selector = {}
    if not isinstance(selector, Mapping):
        raise SelectorError("a selector must be a mapping")
    match_labels = dict(selector.get("matchLabels") or {})
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list) or not all(isinstance(v, str) for v in match_labels.values()):
        raise SelectorError("matchLabels must map strings to strings and matchExpressions be a list")
    match_labels.update(extra or {})
    parts = [f"{k}={v}" for k, v in sorted(match_labels.items())]
    return ",".join(parts + [_expression_query(e) for e in expressions])
