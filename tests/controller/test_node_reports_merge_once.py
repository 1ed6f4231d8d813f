"""Node reports: checked strictly, merged with the generator's union, counted once per node and window."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest

from controller.completion import completed
from controller.reports import (
    BadReport,
    load_status,
    merge_report,
    merge_reports,
    parse_data,
    parse_status,
    union_of,
)
from generator.checking import ParserCheck

NAME = "varmor-cluster-varmor-demo-4"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def body(node: str, executions: list[str], syscalls: list[str], **extra: Any) -> dict[str, Any]:
    return {"namespace": "varmor", "armorProfile": NAME, "nodeName": node, "status": "succeeded",
            "message": "", "dynamicResult": {
                "apparmor": {"profiles": [NAME], "executions": executions,
                             "files": [{"path": "/etc/shadow", "owner": True, "permissions": ["r"]}]},
                "seccomp": {"syscalls": syscalls}}, **extra}


def test_two_nodes_merge_into_one_model_and_a_repeat_counts_once() -> None:
    one = merge_report(None, parse_data(body("node-1", ["/usr/bin/id"], ["read", "unshare"])), "w1")
    two = merge_report(one, parse_data(body("node-2", ["/usr/bin/unshare"], ["write"])), "w1")
    again = merge_report(two, parse_data(body("node-2", ["/usr/bin/unshare"], ["write"])), "w1")
    assert again == two
    assert two["reports"] == {"window": "w1", "reportedNodes": ["node-1", "node-2"], "failedNodes": {}}
    dynamic = two["data"]["dynamicResult"]
    assert dynamic["apparmor"]["executions"] == ["/usr/bin/id", "/usr/bin/unshare"]
    assert dynamic["seccomp"]["syscalls"] == ["read", "unshare", "write"]
    assert two["metadata"] == {"name": NAME, "namespace": "varmor"} and two["storageType"] == "CRDInternal"


def test_a_new_window_keeps_the_data_but_counts_nodes_afresh() -> None:
    old = merge_report(None, parse_data(body("node-1", ["/usr/bin/id"], ["read"])), "w1")
    new = merge_report(old, parse_data(body("node-2", ["/usr/bin/env"], ["read"])), "w2")
    assert new["reports"]["window"] == "w2" and new["reports"]["reportedNodes"] == ["node-2"]
    assert new["data"]["dynamicResult"]["apparmor"]["executions"] == ["/usr/bin/id", "/usr/bin/env"]


@pytest.mark.parametrize(("bad", "needle"), [
    ([], "JSON object"),
    ({**body("n", [], []), "nodeName": ""}, "nodeName"),
    ({**body("n", [], []), "status": "done"}, "succeeded or failed"),
    ({**body("n", [], []), "dynamicResult": []}, "dynamicResult"),
    ({**body("n", [], []), "dynamicResult": {"apparmor": []}}, "dynamicResult.apparmor"),
    ({**body("n", [], []), "dynamicResult": {"seccomp": "read"}}, "dynamicResult.seccomp"),
    ({**body("n", [], []), "dynamicResult": {"apparmor": {"files": [{"owner": True}]}}}, "malformed"),
    ({**body("n", [], []), "dynamicResult": {"apparmor": {"files": 5}}}, "malformed"),
])
def test_malformed_reports_are_refused_with_a_reason(bad: Any, needle: str) -> None:
    with pytest.raises(BadReport, match=needle):
        parse_data(bad)


def test_load_reports_are_idempotent_per_node_and_a_failure_replaces_a_success() -> None:
    status = parse_status({"namespace": "varmor", "armorProfile": NAME, "nodeName": "node-1",
                           "status": "succeeded"})
    profile = {"status": load_status({}, status)}
    assert load_status(profile, status) == profile["status"] == {
        "loadedNodes": ["node-1"], "failedNodes": {}, "currentNumberLoaded": 1}
    failure = parse_status({"namespace": "varmor", "armorProfile": NAME, "nodeName": "node-1",
                            "status": "failed", "message": "no apparmor"})
    assert load_status(profile, failure) == {"loadedNodes": [], "failedNodes": {"node-1": "no apparmor"},
                                             "currentNumberLoaded": 0}


def passes(profile: str) -> ParserCheck:
    return ParserCheck(True, True)


def test_completion_stores_both_profiles_base64() -> None:
    merged = merge_report(None, parse_data(body("node-1", ["/usr/bin/id"], ["unshare"])), "w1")
    done = completed(merged, NAME, passes, NOW)
    profile = done["data"]["profile"]
    apparmor = base64.b64decode(profile["content"]).decode()
    assert "/usr/bin/id ix," in apparmor and "owner /etc/shadow r," in apparmor
    assert "unshare" in json.loads(base64.b64decode(profile["seccompContent"]))["syscalls"][1]["names"]
    assert done["status"]["ready"] is True


def test_a_model_that_cannot_be_rendered_is_an_error_never_an_empty_profile() -> None:
    merged = merge_report(None, parse_data(body("node-1", ["/usr/bin/id"], ["read"])), "w1")
    done = completed(merged, "bad name{", passes, NOW)
    assert "profile" not in done["data"] and done["status"]["ready"] is False
    assert done["status"]["conditions"][0]["reason"] == "Error"
    rejected = completed(merge_report(None, parse_data(body("n", [], ["read"])), "w1"), NAME,
                         lambda text: ParserCheck(True, False, "syntax error"), NOW)
    assert "syntax error" in rejected["status"]["conditions"][0]["message"]
    assert "profile" not in rejected["data"]


def test_a_group_of_reports_merges_like_one_report_after_the_other() -> None:
    reports = [parse_data(body(f"node-{i}", [f"/usr/bin/tool{i}"], ["read", f"sys{i}"])) for i in range(4)]
    reports.append(parse_data(body("node-1", ["/usr/bin/tool1"], ["read"])))  # a retry
    one_by_one = None
    for report in reports:
        one_by_one = merge_report(one_by_one, report, "w1")
    grouped = merge_reports(merge_report(None, reports[0], "w1"), reports[1:], "w1")
    assert grouped == one_by_one
    assert grouped["reports"]["reportedNodes"] == ["node-0", "node-1", "node-2", "node-3"]


def test_a_union_kept_from_the_last_merge_gives_the_model_that_reading_it_again_gives() -> None:
    reports = [parse_data(body(f"node-{i}", [f"/usr/bin/tool{i}"], ["read", f"sys{i}"],
                               coverage={"nodes": [{"node": f"node-{i}", "lostEvents": i}]}))
               for i in range(5)]
    kept = union_of(None)
    first = merge_reports(None, reports[:2], "w1", union=kept)
    second = merge_reports(first, reports[2:4], "w1", union=kept)
    third = merge_reports(second, reports[4:], "w1", union=kept)
    assert second == merge_reports(first, reports[2:4], "w1")
    assert third == merge_reports(merge_reports(first, reports[2:4], "w1"), reports[4:], "w1")
    assert third["data"]["dynamicResult"]["apparmor"]["executions"] == [f"/usr/bin/tool{i}" for i in range(5)]
