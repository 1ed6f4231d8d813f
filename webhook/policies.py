"""A read-only view of VarmorPolicy / VarmorClusterPolicy objects, and where they come from.

``PolicySource`` is the port: the manager feeds it from a watch; ``FilePolicySource`` reads
YAML files (one or more documents), ``StaticPolicySource`` holds a list. Objects stay plain dicts
(never re-serialised); ``view`` extracts what matching needs. Enforcer strings are parsed by
substring, case-insensitively, as upstream's ``GetEnforcerType`` does (spec §1.1).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import yaml

from generator.profilenames import cluster_policy_profile_name, policy_profile_name

PolicyKind = Literal["VarmorPolicy", "VarmorClusterPolicy"]
POLICY_KINDS: tuple[PolicyKind, ...] = ("VarmorPolicy", "VarmorClusterPolicy")
API_VERSION = "crd.varmor.org/v1beta1"

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


class PolicySource(Protocol):
    """Where policies come from: every current VarmorPolicy and VarmorClusterPolicy as a dict."""

    def policies(self) -> list[dict[str, Any]]: ...


class StaticPolicySource:
    """A ``PolicySource`` over a list the owner replaces as a whole (e.g. from a watch)."""

    def __init__(self, policies: Iterable[dict[str, Any]] = ()) -> None:
        self._policies = list(policies)

    def policies(self) -> list[dict[str, Any]]:
        return self._policies

    def replace(self, policies: Iterable[dict[str, Any]]) -> None:
        self._policies = list(policies)


def load_policy_documents(text: str) -> list[dict[str, Any]]:
    """The VarmorPolicy / VarmorClusterPolicy documents of a YAML stream; raises ValueError otherwise."""
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    for number, doc in enumerate(documents, 1):
        if not isinstance(doc, dict) or doc.get("kind") not in POLICY_KINDS:
            raise ValueError(f"document {number} is not a VarmorPolicy or VarmorClusterPolicy")
        if not isinstance(doc.get("metadata"), dict) or not isinstance(doc["metadata"].get("name"), str):
            raise ValueError(f"document {number} has no metadata.name")
    return documents


class FilePolicySource:
    """A ``PolicySource`` read from YAML files at construction; ``reload`` reads them again."""

    def __init__(self, paths: Sequence[pathlib.Path]) -> None:
        self.paths = tuple(paths)
        self._policies: list[dict[str, Any]] = []
        self.reload()

    def reload(self) -> None:
        policies: list[dict[str, Any]] = []
        for path in self.paths:
            try:
                policies += load_policy_documents(path.read_text())
            except (ValueError, yaml.YAMLError) as err:
                raise ValueError(f"{path}: {err}") from err
        self._policies = policies

    def policies(self) -> list[dict[str, Any]]:
        return self._policies


@dataclass(frozen=True)
class PolicyView:
    """What mutation needs from one policy object."""

    kind: PolicyKind
    namespace: str
    name: str
    target: Mapping[str, Any]
    enforcer: int
    mode: str

    @property
    def cluster_scoped(self) -> bool:
        return self.kind == "VarmorClusterPolicy"

    def profile_name(self, install_namespace: str) -> str:
        if self.cluster_scoped:
            return cluster_policy_profile_name(install_namespace, self.name)
        return policy_profile_name(self.namespace, self.name)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def view(obj: Mapping[str, Any]) -> PolicyView | None:
    """The matching view of a policy object, or None when it is not a usable policy."""
    kind, meta = obj.get("kind"), _mapping(obj.get("metadata"))
    spec = _mapping(obj.get("spec"))
    target, policy = _mapping(spec.get("target")), _mapping(spec.get("policy"))
    name, namespace = meta.get("name"), meta.get("namespace") or ""
    if kind not in POLICY_KINDS or not isinstance(name, str) or not isinstance(namespace, str):
        return None
    if not isinstance(target.get("kind"), str):
        return None
    mode = policy.get("mode")
    scope: PolicyKind = "VarmorClusterPolicy" if kind == "VarmorClusterPolicy" else "VarmorPolicy"
    return PolicyView(scope, namespace, name, target, enforcer_bits(policy.get("enforcer")),
                      mode if isinstance(mode, str) else "")


def ordered_views(objects: Iterable[Mapping[str, Any]]) -> list[PolicyView]:
    """Usable policies, cluster policies first (upstream tries them first), then by namespace and name."""
    views = [v for v in (view(o) for o in objects) if v is not None]
    return sorted(views, key=lambda v: (not v.cluster_scoped, v.namespace, v.name))
