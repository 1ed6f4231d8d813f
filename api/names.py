"""Every fixed name of the contract: API group, kinds, resources, services, labels and annotations.

Upstream spec §1 (CRDs), §2.1 (webhook configurations), §2.3 (annotations), §3.1 (leases, services),
§3.3 (rolling-update annotation), §3.8 (status service). Change a name here and nowhere else.
"""

from __future__ import annotations

from typing import Final, Literal

GROUP: Final = "crd.varmor.org"
VERSION: Final = "v1beta1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

PolicyKind = Literal["VarmorPolicy", "VarmorClusterPolicy"]
VARMOR_POLICY: Final = "VarmorPolicy"
VARMOR_CLUSTER_POLICY: Final = "VarmorClusterPolicy"
ARMOR_PROFILE: Final = "ArmorProfile"
ARMOR_PROFILE_MODEL: Final = "ArmorProfileModel"
POLICY_KINDS: Final[tuple[PolicyKind, ...]] = ("VarmorPolicy", "VarmorClusterPolicy")

# kind -> (plural, short name or "", namespaced)
RESOURCES: Final[dict[str, tuple[str, str, bool]]] = {
    VARMOR_POLICY: ("varmorpolicies", "vpol", True),
    VARMOR_CLUSTER_POLICY: ("varmorclusterpolicies", "vcpol", False),
    ARMOR_PROFILE: ("armorprofiles", "", True),
    ARMOR_PROFILE_MODEL: ("armorprofilemodels", "", True),
}
VARMOR_POLICIES: Final = "varmorpolicies"
VARMOR_CLUSTER_POLICIES: Final = "varmorclusterpolicies"
ARMOR_PROFILES: Final = "armorprofiles"
ARMOR_PROFILE_MODELS: Final = "armorprofilemodels"

TargetKind = Literal["Deployment", "StatefulSet", "DaemonSet", "Pod"]
WORKLOAD_KINDS: Final[tuple[TargetKind, ...]] = ("Deployment", "StatefulSet", "DaemonSet")
TARGET_KINDS: Final[tuple[TargetKind, ...]] = (*WORKLOAD_KINDS, "Pod")

DEFAULT_INSTALL_NAMESPACE: Final = "varmor"
MAX_PROFILE_NAME: Final = 63

# Webhook (§2.1)
WEBHOOK_SERVICE: Final = "varmor-webhook-svc"
WEBHOOK_SERVICE_PORT: Final = 443
WEBHOOK_CONTAINER_PORT: Final = 3443
MUTATING_CONFIGURATION: Final = "varmor-resource-mutating-webhook-cfg"
VALIDATING_CONFIGURATION: Final = "varmor-policy-validating-webhook-cfg"
WEBHOOK_CONFIGURATIONS: Final = (MUTATING_CONFIGURATION, VALIDATING_CONFIGURATION)
MATCH_LABEL_KEY: Final = "sandbox.varmor.org/enable"
DEFAULT_MATCH_LABEL: Final = f"{MATCH_LABEL_KEY}=true"

# Annotations the webhook and the controller write into pods and pod templates (§2.3, §3.3)
APPARMOR_VARMOR: Final = "container.apparmor.security.beta.varmor.org/"
APPARMOR_KUBERNETES: Final = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_VARMOR: Final = "container.seccomp.security.beta.varmor.org/"
BPF_VARMOR: Final = "container.bpf.security.beta.varmor.org/"
MUTATED_AT: Final = "webhook.varmor.org/mutatedAt"
RESTARTED_AT: Final = "controller.varmor.org/restartedAt"
UNCONFINED: Final = "unconfined"

# ArmorProfile (§1.3)
FINALIZER: Final = "varmor.org/ap-protection"
RECONCILE_COUNTER: Final = "profile-reconcile-counter"

# Manager (§3.1, §3.8)
MANAGER_LEASE: Final = "varmor-manager"
WEBHOOK_REGISTER_LEASE: Final = "webhook-register"
LEADER_LABEL: Final = ("identity", "leader")
STATUS_SERVICE: Final = "varmor-status-svc"
STATUS_SERVICE_PORT: Final = 8080
AGENT_DAEMONSET: Final = "varmor-agent"
MANAGER_DEPLOYMENT: Final = "varmor-manager"
TOKEN_AUDIENCE: Final = "varmor-manager"

# ArmorProfileModel storage (§3.7)
StorageType = Literal["CRDInternal", "LocalDisk"]
CRD_INTERNAL: Final = "CRDInternal"
LOCAL_DISK: Final = "LocalDisk"
