"""Built-in rule advice on small hand-made models: one behaviour per rule category."""

from __future__ import annotations

from generator.advising import Decision, Facts, decide, model_checks, template
from generator.builtin_rules import RULES, Conflicts, FileConflict
from generator.models import AppArmorResult, BehaviorModel, FileRule


def model(executions: tuple[str, ...] = (), files: tuple[FileRule, ...] = (),
          capabilities: tuple[str, ...] = (), syscalls: tuple[str, ...] = ()) -> BehaviorModel:
    apparmor = AppArmorResult(profiles=("p",), executions=executions, files=files, capabilities=capabilities)
    return BehaviorModel(apparmor=apparmor, syscalls=syscalls)


EVERYTHING = Facts()


def decision(rule: str, facts: Facts = EVERYTHING, behavior: BehaviorModel | None = None) -> Decision:
    return next(d for d in decide(facts, model() if behavior is None else behavior) if d.rule.id == rule)


def kept(facts: Facts = EVERYTHING, behavior: BehaviorModel | None = None) -> set[str]:
    return {d.rule.id for d in decide(facts, model() if behavior is None else behavior) if d.kept}


# escape patterns
def test_disallow_mount_is_kept_for_a_model_that_never_mounted() -> None:
    found = decision("disallow-mount", behavior=model(syscalls=("read", "openat")))
    assert found.kept
    assert found.reason == "no syscall mount among the model's 2 syscalls"


def test_disallow_mount_is_dropped_when_mount_sth_is_declared_or_the_model_mounted() -> None:
    declared = decision("disallow-mount", Facts(features=("mount-sth",)))
    assert not declared.kept and "declared feature mount-sth conflicts" in declared.reason
    observed = decision("disallow-mount", behavior=model(syscalls=("mount",)))
    assert not observed.kept and observed.reason == "the model has syscall mount"


def test_core_pattern_rule_applies_only_to_privileged_workloads_that_do_not_write_it() -> None:
    assert not decision("disallow-write-core-pattern").kept
    privileged = Facts(features=("privileged-container",))
    assert decision("disallow-write-core-pattern", privileged).kept
    reads = model(files=(FileRule("/proc/sys/kernel/core_pattern", ("r",)),))
    assert decision("disallow-write-core-pattern", privileged, reads).kept
    writes = model(files=(FileRule("/proc/sys/kernel/core_pattern", ("w",)),))
    dropped = decision("disallow-write-core-pattern", privileged, writes)
    assert not dropped.kept and "/proc/sys/kernel/core_pattern w" in dropped.reason


def test_procfs_root_rule_conflicts_with_any_access_to_a_processes_root() -> None:
    shared = Facts(features=("share-host-pid-ns",))
    assert decision("disallow-access-procfs-root", shared).kept
    walks = model(files=(FileRule("/proc/*/root/etc/hostname", ("r",)),))
    assert not decision("disallow-access-procfs-root", shared, walks).kept


# capability sets and single capabilities
def test_a_model_without_capabilities_gets_disable_cap_all_and_no_single_rules() -> None:
    chosen = kept()
    assert "disable-cap-all" in chosen
    assert not {r.id for r in RULES if r.category == "capability"} & chosen
    assert "covered by disable-cap-all" in decision("disable-cap-kill").reason
    assert "superseded by disable-cap-all" in decision("disable-cap-privileged").reason


def test_net_bind_service_alone_picks_the_set_that_spares_it() -> None:
    chosen = kept(behavior=model(capabilities=("net_bind_service",)))
    assert "disable-cap-all" not in chosen
    assert "disable-cap-all-except-net-bind-service" in chosen


def test_a_privileged_capability_falls_back_to_every_single_rule_but_its_own() -> None:
    found = {d.rule.id: d for d in decide(Facts(), model(capabilities=("sys_admin",)))}
    assert not any(found[r].kept for r in ("disable-cap-all", "disable-cap-all-except-net-bind-service",
                                          "disable-cap-privileged"))
    assert found["disable-cap-net-raw"].kept
    assert found["disable-cap-sys-admin"].reason == "the model uses capability sys_admin"


def test_capabilities_are_not_restricted_for_privileged_or_dind_workloads() -> None:
    chosen = kept(Facts(features=("dind",)))
    assert not {r.id for r in RULES if r.category in ("capability", "capability-set")} & chosen
    assert "dind workload" in decision("disable-cap-all", Facts(features=("dind",))).reason


def test_declared_capabilities_conflict_like_observed_ones() -> None:
    assert "disable-cap-all" not in kept(Facts(capabilities=("kill",)))
    found = decision("disable-cap-kill", Facts(capabilities=("kill",)))
    assert "declared capability kill conflicts" in found.reason


# exploit vectors
def test_user_namespace_rules_are_dropped_by_unshare_and_sys_admin() -> None:
    behavior = model(capabilities=("sys_admin",), syscalls=("unshare",))
    assert decision("disallow-create-user-ns", behavior=behavior).reason == "the model has syscall unshare"
    abuse = decision("disallow-abuse-user-ns", behavior=behavior)
    assert abuse.reason == "the model uses capability sys_admin"
    assert {"disallow-create-user-ns", "disallow-abuse-user-ns"} <= kept()


def test_without_a_model_a_kept_rule_says_what_was_not_checked() -> None:
    found = next(d for d in decide(Facts(), None) if d.rule.id == "disallow-create-user-ns")
    assert found.kept and found.reason == "no model given: syscalls not checked"


def test_seccomp_rules_need_the_seccomp_enforcer() -> None:
    apparmor_only = Facts(enforcers=("apparmor",))
    found = decision("disallow-load-all-bpf-prog", apparmor_only)
    assert not found.kept
    assert found.reason == "needs Seccomp; the enforcers given are AppArmor"


# information leaks
def test_service_account_leak_rule_yields_to_require_sa_and_to_token_reads() -> None:
    assert "mitigate-sa-leak" in kept()
    assert "mitigate-sa-leak" not in kept(Facts(features=("require-sa",)))
    token = FileRule("/run/secrets/kubernetes.io/serviceaccount/token", ("r",))
    assert "mitigate-sa-leak" not in kept(behavior=model(files=(token,)))


def test_metadata_service_rule_is_bpf_only() -> None:
    assert "disallow-metadata-service" in kept()
    assert "disallow-metadata-service" not in kept(Facts(enforcers=("apparmor", "seccomp")))


# sensitive operations
def test_sensitive_operations_are_advised_only_with_a_model() -> None:
    without = [d for d in decide(Facts(), None) if d.rule.category == "sensitive-operation"]
    assert without and not any(d.kept for d in without)
    assert all("only with a model" in d.reason for d in without)
    assert "disable-shell" in kept()


def test_sensitive_operations_yield_to_what_the_model_did() -> None:
    behavior = model(executions=("/usr/bin/bash", "/usr/bin/curl"),
                     files=(FileRule("/etc/passwd", ("r",)), FileRule("/etc/resolv.conf", ("w",))),
                     syscalls=("fchmodat",))
    found = {d.rule.id: d for d in decide(Facts(), behavior)}
    assert found["disable-shell"].reason == "the model executes /usr/bin/bash"
    assert not found["disable-curl"].kept and found["disable-wget"].kept
    assert found["disable-write-etc"].reason == "the model has write under /etc: /etc/resolv.conf w"
    assert not found["disable-chmod-x-bit"].kept and found["disable-chmod"].kept


def test_reading_etc_keeps_disable_write_etc_and_says_how_much_was_looked_at() -> None:
    found = decision("disable-write-etc", behavior=model(files=(FileRule("/etc/passwd", ("r",)),)))
    assert found.kept and found.reason == "no write under /etc in 1 file rule"


# vulnerability mitigation
def test_vulnerability_mitigations_yield_to_splice_and_runc_writes() -> None:
    behavior = model(syscalls=("splice",), files=(FileRule("/usr/local/bin/runc", ("w",)),))
    chosen = kept(behavior=behavior)
    assert "dirty-pipe-mitigation" not in chosen and "runc-override-mitigation" not in chosen
    assert "cgroups-lxcfs-escape-mitigation" in chosen


# every conflict kind, the template
def test_every_conflict_kind_of_a_rule_is_checked_not_only_capabilities() -> None:
    conflicts = Conflicts(capabilities=("sys_admin",), syscalls=("bpf",), executables=("bpftool",),
                          files=FileConflict(("^/sys/fs/bpf/",), ("w",), "write under /sys/fs/bpf"))
    behavior = model(executions=("/usr/sbin/bpftool",), files=(FileRule("/sys/fs/bpf/map", ("w",)),),
                     syscalls=("bpf",))
    checks = model_checks(conflicts, behavior)
    assert [c.kind for c in checks] == ["model-capability", "syscall", "executable", "file"]
    assert [c.passed for c in checks] == [True, False, False, False]


def test_the_template_names_the_used_enforcers_in_upstream_order() -> None:
    facts = Facts(enforcers=("apparmor", "seccomp"), features=("privileged-container",))
    policy = template(decide(facts, model()), facts)
    assert policy["enforcer"] == "AppArmorSeccomp"
    assert policy["mode"] == "EnhanceProtect"
    assert policy["enhanceProtect"]["privileged"] is True
    assert policy["enhanceProtect"]["attackProtectionRules"][0]["targets"] == []
    seccomp_only = Facts(enforcers=("seccomp",))
    assert template(decide(seccomp_only, model()), seccomp_only)["enforcer"] == "Seccomp"
