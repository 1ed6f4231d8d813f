"""Coalescing file rules by directory, so that a huge rule set still yields a loadable profile.

``apparmor_parser`` needs about 2 s and 100 MB per 10,000 file rules and fails (exit 10, no
message) near 60,000. Above ``MAX_FILE_RULES`` the rules under one directory are replaced by
one ``<dir>/** <united permissions>`` rule (``owner`` only when every member had it), starting
with the deepest directories and, at each depth, with the directories holding the most rules,
until the set fits. Coalescing only ever widens what is allowed, never narrows it; when even
one rule per top-level directory is too many, ``CoalesceError`` says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.models import FileRule

MAX_FILE_RULES = 10_000


class CoalesceError(ValueError):
    """The rules cannot be brought under the limit."""


def _parts(path: str) -> list[str]:
    return path.rstrip("/").split("/")[1:]


def _merge(prefix: str, members: Sequence[FileRule]) -> FileRule:
    letters = dict.fromkeys(letter for rule in members for letter in rule.permissions)
    return FileRule(prefix + "/**", tuple(letters), all(rule.owner for rule in members))


def _unite(rules: Sequence[FileRule]) -> list[FileRule]:
    """One rule per (path, owner), permissions united, first-seen order."""
    united: dict[tuple[str, bool], dict[str, None]] = {}
    for rule in rules:
        united.setdefault((rule.path, rule.owner), {}).update(dict.fromkeys(rule.permissions))
    return [FileRule(path, tuple(letters), owner) for (path, owner), letters in united.items()]


def _at_depth(rules: list[FileRule], depth: int, limit: int) -> list[FileRule]:
    """Coalesce directories of ``depth`` components, biggest first, until ``limit`` is met."""
    groups: dict[str, list[int]] = {}
    for index, rule in enumerate(rules):
        parts = _parts(rule.path)
        if len(parts) > depth:
            groups.setdefault("/" + "/".join(parts[:depth]), []).append(index)
    count = len(rules)
    replaced: dict[int, FileRule | None] = {}
    for prefix, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        if count <= limit or len(members) < 2:
            break
        replaced[members[0]] = _merge(prefix, [rules[i] for i in members])
        replaced.update(dict.fromkeys(members[1:]))
        count -= len(members) - 1
    out = [replaced.get(i, rule) for i, rule in enumerate(rules)]
    return _unite([rule for rule in out if rule is not None])


def coalesce(rules: Sequence[FileRule], limit: int = MAX_FILE_RULES) -> list[FileRule]:
    """``rules`` unchanged when they fit in ``limit``, else coalesced by directory."""
    current = list(rules)
    if len(current) <= limit:
        return current
    deepest = max(len(_parts(rule.path)) for rule in current)
    for depth in range(deepest - 1, 0, -1):
        current = _at_depth(current, depth, limit)
        if len(current) <= limit:
            return current
    raise CoalesceError(f"{len(rules)} file rules cannot be coalesced below {limit} "
                        f"(still {len(current)} after one rule per top-level directory)")
