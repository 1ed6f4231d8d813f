"""RBAC of the chart: no wildcards, nothing beyond what the product uses, every rule justified."""

from __future__ import annotations

import re

import pytest

from localcluster import charts

RBAC_TEMPLATE = charts.CHART / "templates" / "rbac.yaml"
ROLE_KINDS = ("ClusterRole", "Role")


def rules() -> list[tuple[str, dict[str, list[str]]]]:
    return [(f"{o['kind']}/{o['metadata']['name']}", rule) for o in charts.render()
            if o["kind"] in ROLE_KINDS for rule in o["rules"]]


def test_no_rule_grants_a_wildcard() -> None:
    for name, rule in rules():
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], (name, rule)


def test_the_agent_only_reads_cluster_state_and_writes_events() -> None:
    for name, rule in rules():
        if name.endswith("varmor-agent") and "events" not in rule["resources"]:
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule


@pytest.mark.parametrize("resource", ["secrets", "leases"])
def test_secrets_and_leases_are_reachable_only_in_the_install_namespace(resource: str) -> None:
    holders = {name for name, rule in rules() if resource in rule["resources"]}
    assert holders == {"Role/varmor-manager"}


def test_every_rule_in_the_template_says_why_it_is_needed() -> None:
    lines = RBAC_TEMPLATE.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"^- apiGroups:", line)]
    assert len(starts) == len(rules())
    for i in starts:
        assert lines[i - 1].startswith("# why:") or lines[i - 2].startswith("# why:"), lines[i]
