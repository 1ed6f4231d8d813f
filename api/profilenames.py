"""Profile names, as users see them in ``.status.profileName`` and in every profile.

``varmor-<ns>-<name>`` for a VarmorPolicy, ``varmor-cluster-<installNamespace>-<name>`` for a
VarmorClusterPolicy, lower-cased, at most 63 characters (upstream spec §1.2, §1.5). The status
service goes the other way: from an ArmorProfile's namespace and name back to the policy (§3.5).
"""

from __future__ import annotations

from api.names import MAX_PROFILE_NAME, VARMOR_CLUSTER_POLICY, VARMOR_POLICY, PolicyKind


def policy_profile_name(namespace: str, name: str) -> str:
    return f"varmor-{namespace}-{name}".lower()


def cluster_policy_profile_name(install_namespace: str, name: str) -> str:
    return f"varmor-cluster-{install_namespace}-{name}".lower()


def profile_name(kind: str, namespace: str, name: str, install_namespace: str) -> str:
    """The profile name of a policy of ``kind`` (``namespace`` is ignored for cluster policies)."""
    if kind == VARMOR_CLUSTER_POLICY:
        return cluster_policy_profile_name(install_namespace, name)
    return policy_profile_name(namespace, name)


def max_policy_name_length(namespace: str) -> int:
    """The longest policy name whose profile name still fits (63 - 8 - len(ns))."""
    return MAX_PROFILE_NAME - 8 - len(namespace)


def max_cluster_policy_name_length(install_namespace: str) -> int:
    """The longest cluster policy name whose profile name still fits (63 - 16 - len(ns))."""
    return MAX_PROFILE_NAME - 16 - len(install_namespace)


def policy_of_profile(
    profile_namespace: str, profile: str, install_namespace: str
) -> tuple[PolicyKind, str, str] | None:
    """``(kind, namespace, name)`` of the policy owning an ArmorProfile, or None for a foreign name.

    A cluster policy's profile lives in the install namespace and starts ``varmor-cluster-<ns>-``;
    a policy's starts ``varmor-<ns>-``. Names are lower-cased on the way in, so this recovers the
    lower-cased policy name (Kubernetes names are lower-case anyway).
    """
    cluster_prefix = f"varmor-cluster-{install_namespace}-".lower()
    if profile_namespace == install_namespace and profile.startswith(cluster_prefix):
        rest = profile[len(cluster_prefix):]
        if rest:
            return VARMOR_CLUSTER_POLICY, "", rest
    prefix = f"varmor-{profile_namespace}-".lower()
    if profile.startswith(prefix) and profile[len(prefix):]:
        return VARMOR_POLICY, profile_namespace, profile[len(prefix):]
    return None
