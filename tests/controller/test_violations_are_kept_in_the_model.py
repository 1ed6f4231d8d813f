"""Allowed violations reported by the agents land in the model's ``status.violations``: checked,
once per node, pod, container and syscall, capped with the rest counted."""

from __future__ import annotations

from typing import Any

import pytest

from controller.plans import violations_summary
from controller.reports import MAX_VIOLATIONS, BadReport, add_violations, parse_violations

HEADER = {"namespace": "varmor", "armorProfile": "varmor-cluster-varmor-demo-4", "nodeName": "node-1",
          "status": "succeeded"}
UNSHARE = {"pod": "demo-4-x", "container": "c0", "syscall": "unshare", "exe": "/usr/bin/unshare"}


def violations(*items: dict[str, Any], node: str = "node-1") -> Any:
    return parse_violations({**HEADER, "nodeName": node, "violations": list(items)})


def test_violations_are_kept_once_per_node_pod_container_and_syscall() -> None:
    model = {"status": {"ready": True, "reportedNodes": ["node-1"]}}
    status = add_violations(model, violations(UNSHARE))
    again = add_violations({"status": status}, violations(UNSHARE, {**UNSHARE, "exe": "/bin/other"}))
    other_node = add_violations({"status": again}, violations(UNSHARE, node="node-2"))
    assert again == status  # the same syscall of the same container is one violation
    assert other_node["violations"] == [{"node": "node-1", **UNSHARE}, {"node": "node-2", **UNSHARE}]
    assert other_node["ready"] is True and other_node["reportedNodes"] == ["node-1"]  # the rest is kept


def test_past_the_cap_violations_are_counted_not_kept() -> None:
    many = [{**UNSHARE, "syscall": f"s{i}"} for i in range(MAX_VIOLATIONS)]
    status = add_violations({}, violations(*many))
    status = add_violations({"status": status}, violations({**UNSHARE, "syscall": "one-more"}))
    assert len(status["violations"]) == MAX_VIOLATIONS and status["violationsDropped"] == 1


@pytest.mark.parametrize("items", [None, [], ["unshare"], [{**UNSHARE, "syscall": 272}],
                                   [UNSHARE] * (MAX_VIOLATIONS + 1)])
def test_a_malformed_violations_report_is_refused_with_a_reason(items: Any) -> None:
    with pytest.raises(BadReport, match="violation"):
        parse_violations({**HEADER, "violations": items})


def test_a_hand_edited_count_is_read_as_none_and_the_summary_names_what_is_more() -> None:
    status = add_violations({"status": {"violationsDropped": "many"}}, violations(UNSHARE))
    assert status["violationsDropped"] == 0
    many = [{**UNSHARE, "syscall": f"s{i}"} for i in range(7)]
    kept = add_violations({}, violations(*many))
    summary = violations_summary({"status": {**kept, "violationsDropped": 3}})
    assert summary.startswith("10 syscalls outside the profile were allowed and logged: s0 (demo-4-x c0 on "
                              "node-1), s1") and "s4 (demo-4-x c0 on node-1) and 5 more;" in summary
    assert violations_summary({"status": {"violations": "garbage"}}) == ""
