"""What ``app.py advise`` prints: a table for people, a document for tools, a policy to apply.

- ``advice_document``: the template, the ready-to-apply policy, every decision with its checks,
  and the least-privilege securityContext per container (``-o json``);
- ``policy_yaml``: the policy alone, ready for ``kubectl apply -f -`` (``-o yaml``); each kept rule
  carries its reason as a comment, and the annotations ``advise.varmor.org/decisions`` and
  ``advise.varmor.org/security-contexts`` hold the same evidence as JSON for tools;
- ``table``: one line per rule (verdict and reason), the securityContext with reasons, then the
  template as YAML.

Everything is sorted or in upstream's rule order, so the same input prints the same bytes.
Policy names follow ``generator.profilenames`` in reverse; the policy kinds and API group are
defined here only because the project's ``api`` package does not exist yet on this branch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from api.names import API_VERSION, VARMOR_CLUSTER_POLICY, VARMOR_POLICY
from generator.advising import Decision
from generator.least_privilege import ContainerContext

POLICY_KIND = VARMOR_POLICY
CLUSTER_POLICY_KIND = VARMOR_CLUSTER_POLICY
DECISIONS_ANNOTATION = "advise.varmor.org/decisions"
CONTEXTS_ANNOTATION = "advise.varmor.org/security-contexts"


@dataclass(frozen=True)
class PolicyIdentity:
    kind: str  # VarmorPolicy or VarmorClusterPolicy
    name: str
    namespace: str | None
    target: dict[str, Any]


def identity(profile_name: str, namespace: str, name: str = "", target: str = "") -> PolicyIdentity:
    """The policy a model belongs to, from its profile name and namespace (seed naming).

    ``varmor-cluster-<ns>-<name>`` is a VarmorClusterPolicy, ``varmor-<ns>-<name>`` a VarmorPolicy
    in ``<ns>``. The target defaults to the Deployment of the policy's name; ``target`` is
    ``KIND/NAME`` to override it.
    """
    kind, policy_namespace, derived = CLUSTER_POLICY_KIND, None, profile_name
    if profile_name.startswith(f"varmor-cluster-{namespace}-"):
        derived = profile_name.removeprefix(f"varmor-cluster-{namespace}-")
    elif profile_name.startswith(f"varmor-{namespace}-"):
        kind, policy_namespace = POLICY_KIND, namespace
        derived = profile_name.removeprefix(f"varmor-{namespace}-")
    name = name or derived
    target_kind, _, target_name = (target or f"Deployment/{name}").partition("/")
    return PolicyIdentity(kind, name, policy_namespace, {"kind": target_kind, "name": target_name})


def decision_record(decision: Decision) -> dict[str, Any]:
    return {
        "rule": decision.rule.id,
        "category": decision.rule.category,
        "section": decision.rule.section,
        "verdict": "kept" if decision.kept else "dropped",
        "reason": decision.reason,
        "checks": [{"kind": c.kind, "passed": c.passed, "evidence": c.evidence} for c in decision.checks],
    }


def context_record(context: ContainerContext) -> dict[str, Any]:
    return {"container": context.container, "securityContext": context.security_context,
            "reasons": context.reasons}


def policy_object(template: dict[str, Any], who: PolicyIdentity,
                  annotations: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": who.name}
    if who.namespace is not None:
        metadata["namespace"] = who.namespace
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": who.kind, "metadata": metadata,
            "spec": {"target": who.target, "policy": template}}


def advice_document(template: dict[str, Any], who: PolicyIdentity, decisions: Sequence[Decision],
                    contexts: Sequence[ContainerContext], seccomp_profile: str) -> dict[str, Any]:
    return {
        "template": template,
        "policy": policy_object(template, who),
        "decisions": [decision_record(d) for d in decisions],
        "securityContexts": [context_record(c) for c in contexts],
        "seccompProfile": json.loads(seccomp_profile) if seccomp_profile else None,
    }


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def policy_yaml(template: dict[str, Any], who: PolicyIdentity, decisions: Sequence[Decision],
                contexts: Sequence[ContainerContext]) -> str:
    annotations = {
        DECISIONS_ANNOTATION: _compact([{"rule": d.rule.id, "verdict": "kept" if d.kept else "dropped",
                                         "reason": d.reason} for d in decisions]),
        CONTEXTS_ANNOTATION: _compact([context_record(c) for c in contexts]),
    }
    text = yaml.safe_dump(policy_object(template, who, annotations), sort_keys=False, width=1 << 20)
    reasons = {d.rule.id: d.reason for d in decisions if d.kept}
    lines = []
    for line in text.splitlines():
        rule = line.strip().removeprefix("- ")
        lines.append(f"{line}  # {reasons[rule]}" if line.strip().startswith("- ") and rule in reasons
                     else line)
    dropped = [f"#   {d.rule.id}: {d.reason}" for d in decisions if not d.kept]
    header = ["# Generated by `app.py advise`. Dropped rules:", *dropped] if dropped else []
    return "\n".join([*header, *lines]) + "\n"


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
            for row in rows]


def table(template: dict[str, Any], decisions: Sequence[Decision],
          contexts: Sequence[ContainerContext]) -> str:
    rows = [("RULE", "CATEGORY", "VERDICT", "REASON")]
    rows += [(d.rule.id, d.rule.category, "kept" if d.kept else "dropped", d.reason) for d in decisions]
    out = _columns(rows)
    for context in contexts:
        out += ["", f"securityContext for container {context.container}:"]
        fields = [("FIELD", "VALUE", "REASON")]
        fields += [(k, _compact(v), context.reasons[k]) for k, v in context.security_context.items()]
        out += ["  " + line for line in _columns(fields)]
    out += ["", "Template (spec.policy):", yaml.safe_dump(template, sort_keys=False).rstrip()]
    return "\n".join(line.rstrip() for line in out) + "\n"
