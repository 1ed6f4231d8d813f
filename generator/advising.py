"""Advice: which built-in hardening rules fit a workload, each decision with its evidence.

Upstream's policy advisor (``tools/policy-advisor``) turns declared facts and an optional
ArmorProfileModel into an ``EnhanceProtect`` template. This module runs the same procedure
over ``generator.builtin_rules`` — common enforcer, declared conflicts, applicability, model
conflicts, the capability-set fallback, sensitive operations only with a model — and differs
in two ways: every conflict kind a rule lists is checked (upstream stops at capabilities), and
every rule, kept or dropped, carries the checks that decided it. Pure: facts and a frozen
model in, frozen decisions and a template dict out. ``generator.least_privilege`` adds the
securityContext; ``generator.advice_output`` prints both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generator.builtin_rules import ANY, RULES, Conflicts, Enforcer, FileConflict, Rule
from generator.models import BehaviorModel

ENFORCER_NAMES: dict[Enforcer, str] = {"apparmor": "AppArmor", "bpf": "BPF", "seccomp": "Seccomp"}
PRIVILEGED_FEATURES = ("privileged-container", "dind")


@dataclass(frozen=True)
class Facts:
    """What the user declares: enforcers available, features and capabilities (lower case)."""

    enforcers: tuple[Enforcer, ...] = ("apparmor", "bpf", "seccomp")
    features: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    kind: str  # enforcer, feature, capability, applicable, model-capability, syscall, executable, file, ...
    passed: bool
    evidence: str


@dataclass(frozen=True)
class Decision:
    rule: Rule
    checks: tuple[Check, ...]

    @property
    def kept(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def reason(self) -> str:
        failed = [c.evidence for c in self.checks if not c.passed]
        if failed:
            return "; ".join(failed)
        telling = [c.evidence for c in self.checks if c.kind not in ("enforcer", "feature", "capability")]
        return "; ".join(telling) or "no conflicts"


def names(items: Sequence[str], most: int = 4) -> str:
    """``a, b or c``; long lists end with ``and N more``."""
    items = list(items)
    if len(items) > most:
        return ", ".join(items[:most]) + f" and {len(items) - most} more"
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _common(conflicting: Sequence[str], present: Sequence[str]) -> list[str]:
    if ANY in conflicting:
        return sorted(set(present))
    return sorted(set(conflicting) & set(present))


def _enforcer_check(rule: Rule, facts: Facts) -> Check:
    shared = [ENFORCER_NAMES[e] for e in rule.enforcers if e in facts.enforcers]
    wanted = names([ENFORCER_NAMES[e] for e in rule.enforcers])
    if shared:
        return Check("enforcer", True, f"enforced by {names(shared)}")
    given = ",".join(ENFORCER_NAMES[e] for e in facts.enforcers) or "none"
    return Check("enforcer", False, f"needs {wanted}; the enforcers given are {given}")


def _context_checks(rule: Rule, facts: Facts) -> list[Check]:
    checks = []
    conflicts = rule.conflicts
    if conflicts.features:
        hit = _common(conflicts.features, facts.features)
        checks.append(Check("feature", not hit, f"declared feature {names(hit)} conflicts" if hit
                            else f"no declared feature among {names(conflicts.features)}"))
    if conflicts.capabilities:
        hit = _common(conflicts.capabilities, facts.capabilities)
        checks.append(Check("capability", not hit, f"declared capability {names(hit)} conflicts" if hit
                            else "no declared capability conflicts"))
    if rule.applicable is not None:
        wanted = [*rule.applicable.features, *rule.applicable.capabilities]
        hit = sorted(set(wanted) & {*facts.features, *facts.capabilities})
        checks.append(Check("applicable", bool(hit), f"applies because {names(hit)} is declared" if hit
                            else f"applies only when {names(wanted)} is declared"))
    return checks


def _capability_check(conflicting: tuple[str, ...], model: BehaviorModel) -> Check:
    observed = list(model.apparmor.capabilities)
    hit = _common(conflicting, observed)
    if hit:
        return Check("model-capability", False, f"the model uses capability {names(hit)}")
    scope = "any capability" if ANY in conflicting else f"capability {names(conflicting)}"
    seen = f" (it uses {names(sorted(observed))})" if observed else ""
    return Check("model-capability", True, f"the model uses no {scope}{seen}")


def _syscall_check(conflicting: tuple[str, ...], model: BehaviorModel) -> Check:
    hit = _common(conflicting, model.syscalls)
    if hit:
        return Check("syscall", False, f"the model has syscall {names(hit)}")
    count = _plural(len(set(model.syscalls)), "syscall")
    return Check("syscall", True, f"no syscall {names(conflicting)} among the model's {count}")


def _executable_check(conflicting: tuple[str, ...], model: BehaviorModel) -> Check:
    hit = sorted({p for p in model.apparmor.executions if os.path.basename(p) in conflicting})
    if hit:
        return Check("executable", False, f"the model executes {names(hit)}")
    count = _plural(len(model.apparmor.executions), "execution")
    return Check("executable", True, f"no executable named {names(conflicting)} among {count}")


def _file_hits(conflict: FileConflict, model: BehaviorModel) -> list[str]:
    hits = []
    for rule in model.apparmor.files:
        path = rule.old_path or rule.path
        allowed = ANY in conflict.permissions or set(conflict.permissions) & set(rule.permissions)
        if allowed and any(re.search(regex, path) for regex in conflict.regexes):
            hits.append(f"{path} {''.join(sorted(set(rule.permissions)))}")
    return sorted(set(hits))


def _file_check(conflict: FileConflict, model: BehaviorModel) -> Check:
    hits = _file_hits(conflict, model)
    if hits:
        return Check("file", False, f"the model has {conflict.summary}: {names(hits, 3)}")
    count = _plural(len(model.apparmor.files), "file rule")
    return Check("file", True, f"no {conflict.summary} in {count}")


def model_checks(conflicts: Conflicts, model: BehaviorModel) -> list[Check]:
    """Every conflict kind the rule lists, checked against the model (none skipped)."""
    checks = []
    if conflicts.capabilities:
        checks.append(_capability_check(conflicts.capabilities, model))
    if conflicts.syscalls:
        checks.append(_syscall_check(conflicts.syscalls, model))
    if conflicts.executables:
        checks.append(_executable_check(conflicts.executables, model))
    if conflicts.files is not None:
        checks.append(_file_check(conflicts.files, model))
    return checks


def evaluate(rule: Rule, facts: Facts, model: BehaviorModel | None) -> list[Check]:
    """All checks of one rule, before the capability-set fallback."""
    checks = [_enforcer_check(rule, facts), *_context_checks(rule, facts)]
    if model is not None:
        checks.extend(model_checks(rule.conflicts, model))
    elif rule.category == "sensitive-operation":
        checks.append(Check("model", False, "sensitive operations are advised only with a model"))
    elif _unchecked(rule.conflicts):
        checks.append(Check("model", True, f"no model given: {_unchecked(rule.conflicts)} not checked"))
    return checks


def _unchecked(conflicts: Conflicts) -> str:
    kinds = [("capabilities used", conflicts.capabilities), ("syscalls", conflicts.syscalls),
             ("executables", conflicts.executables), ("file accesses", conflicts.files)]
    return names([kind for kind, listed in kinds if listed]).replace(" or ", " and ")


def _capability_group(decisions: list[Decision], facts: Facts) -> list[Decision]:
    """Upstream's fallback: the first surviving capability set, else every surviving single rule."""
    privileged = sorted(set(PRIVILEGED_FEATURES) & set(facts.features))
    chosen = next((d.rule.id for d in decisions if d.rule.category == "capability-set" and d.kept), None)
    out = []
    for decision in decisions:
        extra: Check | None = None
        if decision.rule.category not in ("capability-set", "capability"):
            pass
        elif privileged:
            extra = Check("group", False,
                          f"capabilities are not restricted for a {names(privileged)} workload")
        elif chosen is not None and decision.rule.id != chosen and decision.kept:
            verb = "superseded" if decision.rule.category == "capability-set" else "covered"
            extra = Check("group", False, f"{verb} by {chosen}, the first capability set that fits")
        elif decision.rule.id == chosen:
            extra = Check("group", True, "the first capability set that fits")
        out.append(Decision(decision.rule, decision.checks + ((extra,) if extra else ())))
    return out


def decide(facts: Facts, model: BehaviorModel | None) -> tuple[Decision, ...]:
    """One decision per built-in rule, in upstream's order."""
    decisions = [Decision(rule, tuple(evaluate(rule, facts, model))) for rule in RULES]
    return tuple(_capability_group(decisions, facts))


def template(decisions: Sequence[Decision], facts: Facts) -> dict[str, Any]:
    """The ``spec.policy`` of an ``EnhanceProtect`` policy, shaped like upstream's template."""
    kept = [d.rule for d in decisions if d.kept]
    used = [e for e in ENFORCER_NAMES if e in facts.enforcers and any(e in r.enforcers for r in kept)]
    return {
        "enforcer": "".join(ENFORCER_NAMES[e] for e in used),
        "mode": "EnhanceProtect",
        "enhanceProtect": {
            "privileged": "privileged-container" in facts.features,
            "hardeningRules": [r.id for r in kept if r.section == "hardeningRules"],
            "attackProtectionRules": [
                {"rules": [r.id for r in kept if r.section == "attackProtectionRules"], "targets": []}
            ],
            "vulMitigationRules": [r.id for r in kept if r.section == "vulMitigationRules"],
        },
    }
