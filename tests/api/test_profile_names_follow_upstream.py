"""Profile names (upstream spec §1.2, §1.5) and the way back from a profile to its policy (§3.5)."""

from __future__ import annotations

from api.profilenames import (
    cluster_policy_profile_name,
    max_cluster_policy_name_length,
    max_policy_name_length,
    policy_of_profile,
    policy_profile_name,
    profile_name,
)


def test_names_are_prefixed_and_lower_cased() -> None:
    assert policy_profile_name("Demo", "Web") == "varmor-demo-web"
    assert cluster_policy_profile_name("varmor", "demo-4") == "varmor-cluster-varmor-demo-4"
    assert profile_name("VarmorClusterPolicy", "ignored", "demo-4", "varmor") == (
        "varmor-cluster-varmor-demo-4")
    assert profile_name("VarmorPolicy", "demo", "demo-4", "varmor") == "varmor-demo-demo-4"


def test_the_longest_names_fit_in_63_characters() -> None:
    assert max_policy_name_length("demo") == 51
    assert len(policy_profile_name("demo", "n" * 51)) == 63
    assert max_cluster_policy_name_length("varmor") == 41
    assert len(cluster_policy_profile_name("varmor", "c" * 41)) == 63


def test_a_profile_leads_back_to_its_policy() -> None:
    assert policy_of_profile("varmor", "varmor-cluster-varmor-demo-4", "varmor") == (
        "VarmorClusterPolicy", "", "demo-4")
    assert policy_of_profile("demo", "varmor-demo-demo-4", "varmor") == ("VarmorPolicy", "demo", "demo-4")
    # a namespaced policy in the install namespace whose name starts with "cluster-"
    assert policy_of_profile("varmor", "varmor-varmor-x", "varmor") == ("VarmorPolicy", "varmor", "x")
    assert policy_of_profile("demo", "other-profile", "varmor") is None
    assert policy_of_profile("demo", "varmor-demo-", "varmor") is None
