"""Label and field selectors: the query-string form and the ``metav1.LabelSelector`` form.

Pure functions used by lists, watches, controllers and admission matching.
"""

from __future__ import annotations

import re
from typing import Any

from localcluster.errors import bad_request

LabelReq = tuple[str, str, frozenset[str]]
FieldReq = tuple[str, bool, str]

_LABEL = re.compile(
    r"^\s*(!)?\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*$"
)
_FIELD = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$")


def split_selector(text: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` parentheses."""
    parts: list[str] = []
    depth, cur = 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def parse_label_selector(text: str | None) -> list[LabelReq]:
    reqs: list[LabelReq] = []
    for part in split_selector(text or ""):
        m = _LABEL.match(part)
        if not m:
            raise bad_request(f"unable to parse requirement: {part!r}")
        neg, key, op, val, setop, setvals = m.groups()
        if neg:
            reqs.append((key, "!exists", frozenset()))
        elif op:
            reqs.append((key, "!=" if op == "!=" else "=", frozenset([val])))
        elif setop:
            reqs.append((key, setop, frozenset(v.strip() for v in setvals.split(",") if v.strip())))
        else:
            reqs.append((key, "exists", frozenset()))
    return reqs


def _label_ok(op: str, has: bool, value: str | None, vals: frozenset[str]) -> bool:
    if op in ("=", "in"):
        return value in vals
    if op in ("!=", "notin"):
        return not has or value not in vals
    return has if op == "exists" else not has


def labels_match(reqs: list[LabelReq], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(_label_ok(op, key in labels, labels.get(key), vals) for key, op, vals in reqs)


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """``metav1.LabelSelector`` (matchLabels/matchExpressions); None or {} selects everything."""
    if not selector:
        return True
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in selector.get("matchExpressions") or []:
        op = ops.get(expr.get("operator", ""), "")
        key = expr.get("key", "")
        if not op or not _label_ok(op, key in labels, labels.get(key), frozenset(expr.get("values") or [])):
            return False
    return True


def parse_field_selector(text: str | None) -> list[FieldReq]:
    reqs: list[FieldReq] = []
    for part in split_selector(text or ""):
        m = _FIELD.match(part)
        if not m:
            raise bad_request(f"invalid field selector: {part!r}")
        reqs.append((m.group(1), m.group(2) != "!=", m.group(3)))
    return reqs


def dotted(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return ""
        cur = cur[part]
    return "" if cur is None else str(cur)


def fields_match(reqs: list[FieldReq], obj: dict[str, Any]) -> bool:
    return all((dotted(obj, path) == value) == equal for path, equal, value in reqs)
