"""Label selectors as ``metav1.LabelSelectorAsSelector`` evaluates them, and as list queries."""

from __future__ import annotations

from typing import Any

import pytest

from api.selectors import SelectorError, matches, to_query

LABELS = {"app": "web", "tier": "front"}


def expression(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}


@pytest.mark.parametrize(("selector", "expected"), [
    (expression("team", "NotIn", "payments"), True),  # the label is absent: NotIn holds
    (expression("team", "DoesNotExist"), True),
    (expression("team", "In", "payments"), False),
    (expression("team", "Exists"), False),
    (expression("app", "NotIn", "web"), False),
    (expression("app", "NotIn", "db"), True),
    (expression("app", "In", "web", "db"), True),
    ({"matchLabels": {"app": "web"}, **expression("team", "NotIn", "x")}, True),
    ({"matchLabels": {"app": "db"}}, False),
    ({}, True),
])
def test_requirements_hold_or_fail_as_in_kubernetes(selector: dict[str, Any], expected: bool) -> None:
    assert matches(selector, LABELS) is expected


def test_not_in_matches_an_object_that_has_no_labels_at_all() -> None:
    assert matches(expression("app", "NotIn", "web"), None) is True
    assert matches(expression("app", "NotIn", "web"), {}) is True


@pytest.mark.parametrize("selector", [
    expression("app", "Near", "web"),
    expression("app", "In"),
    expression("app", "Exists", "web"),
    {"matchLabels": ["app"]},
    "app=web",
])
def test_invalid_selectors_are_errors(selector: Any) -> None:
    with pytest.raises(SelectorError):
        matches(selector, LABELS)


def test_a_selector_becomes_a_label_selector_query_with_the_match_label() -> None:
    selector = {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "team", "operator": "NotIn", "values": ["b", "a"]},
        {"key": "canary", "operator": "DoesNotExist"},
        {"key": "tier", "operator": "Exists"},
    ]}
    assert to_query(selector, {"sandbox.varmor.org/enable": "true"}) == (
        "app=web,sandbox.varmor.org/enable=true,team notin (a,b),!canary,tier")
    assert to_query(None, {}) == ""
    with pytest.raises(SelectorError):
        to_query(expression("app", "Near", "x"))
