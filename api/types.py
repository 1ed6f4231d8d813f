"""Typed views of the four kinds: wire shapes as ``TypedDict``, what code reads as frozen dataclasses.

Objects stay plain dicts as the API server sends them (never re-serialised, unknown fields kept);
``TypedDict``s document the fields the product reads or writes (upstream spec §1.1–§1.4, seed field
names for the model's profile). ``view`` extracts what matching and reconciling need from a policy.
Enforcer strings are parsed by substring, case-insensitively, as upstream's ``GetEnforcerType``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from api.names import POLICY_KINDS, VARMOR_CLUSTER_POLICY, VARMOR_POLICY, PolicyKind
from api.profilenames import profile_name

APPARMOR, BPF, SECCOMP, NETWORK_PROXY, UNKNOWN = 0x1, 0x2, 0x4, 0x8, 0x10
_ENFORCER_WORDS = (
    ("apparmor", APPARMOR), ("bpf", BPF), ("seccomp", SECCOMP), ("networkproxy", NETWORK_PROXY),
)


def enforcer_bits(enforcer: object) -> int:
    """The enforcer bitmask of a free-form enforcer string (``UNKNOWN`` when nothing matches)."""
    text = enforcer.lower() if isinstance(enforcer, str) else ""
    bits = 0
    for word, bit in _ENFORCER_WORDS:
        if word in text:
            bits |= bit
    return bits or UNKNOWN


class LabelSelector(TypedDict, total=False):
    matchLabels: dict[str, str]
    matchExpressions: list[dict[str, Any]]


class Target(TypedDict):
    kind: str
    name: NotRequired[str]
    selector: NotRequired[LabelSelector]
    containers: NotRequired[list[str]]


class ModelingOptions(TypedDict):
    duration: int


class Policy(TypedDict):
    enforcer: str
    mode: str
    modelingOptions: NotRequired[ModelingOptions]


class PolicySpec(TypedDict):
    target: Target
    policy: Policy
    updateExistingWorkloads: NotRequired[bool]


class Condition(TypedDict):
    type: str
    status: str
    lastTransitionTime: str
    reason: NotRequired[str]
    message: NotRequired[str]


class PolicyStatus(TypedDict, total=False):
    profileName: str
    ready: bool
    phase: str
    conditions: list[Condition]


class ProfileSection(TypedDict, total=False):
    name: str
    enforcer: str
    mode: str
    content: str  # AppArmor profile: text in an ArmorProfile, base64 in an ArmorProfileModel
    seccompContent: str  # seccomp JSON: text in an ArmorProfile, base64 in an ArmorProfileModel


class BehaviorModeling(TypedDict):
    enable: bool
    duration: int


class ArmorProfileSpec(TypedDict):
    target: Target
    profile: ProfileSection
    behaviorModeling: BehaviorModeling
    updateExistingWorkloads: bool


class ArmorProfileStatus(TypedDict, total=False):
    desiredNumberLoaded: int
    currentNumberLoaded: int
    conditions: list[dict[str, Any]]


class ArmorProfileModelStatus(TypedDict, total=False):
    desiredNumber: int
    completedNumber: int
    ready: bool
    conditions: list[dict[str, Any]]


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one (absent and null fields read as empty)."""
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class PolicyView:
    """What matching and reconciling read from one VarmorPolicy or VarmorClusterPolicy."""

    kind: PolicyKind
    namespace: str
    name: str
    target: Mapping[str, Any]
    enforcer: int
    mode: str
    enforcer_text: str = ""
    duration: int | None = None  # modelingOptions.duration; None without modelingOptions
    update_existing: bool = False
    uid: str = ""

    @property
    def cluster_scoped(self) -> bool:
        return self.kind == VARMOR_CLUSTER_POLICY

    @property
    def modeling(self) -> bool:
        return self.mode == "BehaviorModeling" and self.duration is not None

    def profile_name(self, install_namespace: str) -> str:
        return profile_name(self.kind, self.namespace, self.name, install_namespace)

    def profile_namespace(self, install_namespace: str) -> str:
        """Where the ArmorProfile and ArmorProfileModel live."""
        return install_namespace if self.cluster_scoped else self.namespace


def _duration(policy: Mapping[str, Any]) -> int | None:
    options = policy.get("modelingOptions")
    if not isinstance(options, Mapping):
        return None
    value = options.get("duration")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def view(obj: Mapping[str, Any]) -> PolicyView | None:
    """The view of a policy object, or None when it is not a usable policy."""
    kind, meta = obj.get("kind"), mapping(obj.get("metadata"))
    spec = mapping(obj.get("spec"))
    target, policy = mapping(spec.get("target")), mapping(spec.get("policy"))
    name, namespace = meta.get("name"), meta.get("namespace") or ""
    if kind not in POLICY_KINDS or not isinstance(name, str) or not isinstance(namespace, str):
        return None
    if not isinstance(target.get("kind"), str):
        return None
    mode, enforcer = policy.get("mode"), policy.get("enforcer")
    scope: PolicyKind = VARMOR_CLUSTER_POLICY if kind == VARMOR_CLUSTER_POLICY else VARMOR_POLICY
    return PolicyView(
        scope, "" if scope == VARMOR_CLUSTER_POLICY else namespace, name, target, enforcer_bits(enforcer),
        mode if isinstance(mode, str) else "", enforcer if isinstance(enforcer, str) else "",
        _duration(policy), spec.get("updateExistingWorkloads") is True, str(meta.get("uid") or ""),
    )


def ordered_views(objects: Iterable[Mapping[str, Any]]) -> list[PolicyView]:
    """Usable policies, cluster policies first (upstream tries them first), then by namespace and name."""
    views = [v for v in (view(o) for o in objects) if v is not None]
    return sorted(views, key=lambda v: (not v.cluster_scoped, v.namespace, v.name))
