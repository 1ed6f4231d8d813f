"""Condition helpers: one condition per type, replaced in place; the transition time moves only when
the status changes (Kubernetes ``meta.SetStatusCondition``, upstream spec §1.2)."""

from __future__ import annotations

import datetime

from api.conditions import (
    CREATED,
    FALSE,
    READY,
    TRUE,
    condition,
    find,
    is_true,
    same_ignoring_time,
    set_condition,
)

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
T1 = T0 + datetime.timedelta(minutes=5)


def test_a_new_condition_is_appended_with_its_time() -> None:
    conditions = set_condition(None, condition(CREATED, TRUE, T0))
    assert conditions == [{"type": "Created", "status": "True", "lastTransitionTime": "2026-01-01T12:00:00Z",
                           "reason": "", "message": ""}]


def test_the_same_status_keeps_the_transition_time_but_takes_the_new_reason() -> None:
    first = set_condition(None, condition(READY, FALSE, T0, "Processing"))
    second = set_condition(first, condition(READY, FALSE, T1, "Error", "agents failed"))
    assert len(second) == 1
    assert second[0]["lastTransitionTime"] == "2026-01-01T12:00:00Z"
    assert (second[0]["reason"], second[0]["message"]) == ("Error", "agents failed")


def test_a_new_status_moves_the_transition_time_and_keeps_other_types_in_place() -> None:
    start = set_condition(set_condition(None, condition(CREATED, TRUE, T0)), condition(READY, FALSE, T0))
    after = set_condition(start, condition(READY, TRUE, T1, "AllAgentsReady"))
    assert [c["type"] for c in after] == ["Created", "Ready"]
    assert after[1]["lastTransitionTime"] == "2026-01-01T12:05:00Z"
    assert after[0] == start[0]
    assert is_true(after, READY) and not is_true(start, READY)
    assert start[1]["status"] == "False"  # the input is not mutated
    assert find(after, "Updated") is None


def test_lists_that_differ_only_in_time_say_the_same() -> None:
    a = [condition(READY, TRUE, T0, "AllAgentsReady")]
    b = [condition(READY, TRUE, T1, "AllAgentsReady")]
    assert same_ignoring_time(a, b)
    assert not same_ignoring_time(a, [condition(READY, FALSE, T1, "AllAgentsReady")])
