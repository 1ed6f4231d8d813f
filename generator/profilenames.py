"""Profile names, as users see them in `.status.profileName` and in every profile.

`varmor-<ns>-<name>` for a VarmorPolicy, `varmor-cluster-<installNamespace>-<name>` for a
VarmorClusterPolicy, lower-cased, at most 63 characters (upstream spec §1.5).
"""

from __future__ import annotations

MAX_PROFILE_NAME = 63


def policy_profile_name(namespace: str, name: str) -> str:
    return f"varmor-{namespace}-{name}".lower()


def cluster_policy_profile_name(install_namespace: str, name: str) -> str:
    return f"varmor-cluster-{install_namespace}-{name}".lower()


def max_policy_name_length(namespace: str) -> int:
    """The longest policy name whose profile name still fits (63 - 8 - len(ns))."""
    return MAX_PROFILE_NAME - 8 - len(namespace)


def max_cluster_policy_name_length(install_namespace: str) -> int:
    """The longest cluster policy name whose profile name still fits (63 - 16 - len(ns))."""
    return MAX_PROFILE_NAME - 16 - len(install_namespace)
