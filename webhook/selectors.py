"""Kubernetes label selectors (``matchLabels`` and ``matchExpressions``) over a label map.

Mirrors ``metav1.LabelSelectorAsSelector``: an empty selector matches everything, an invalid one is
an error (the caller treats it as "no match", as upstream does).
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
