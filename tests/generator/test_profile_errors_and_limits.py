"""Render failures are errors the caller sees; syscall names come from the arch table; huge rule sets
still yield a profile the parser accepts."""

from __future__ import annotations

import json

import pytest

from generator.aggregate import model_from_events
from generator.apm import armor_profile_model
from generator.checking import check_apparmor
from generator.coalesce import MAX_FILE_RULES, CoalesceError, coalesce
from generator.models import AppArmorResult, BehaviorModel, FileRule
from generator.render import RenderError, render_apparmor, render_seccomp, renderable_files


def test_a_model_whose_profile_cannot_render_raises_instead_of_storing_empty_content() -> None:
    model = model_from_events("p", [{"v": 1, "kind": "exec", "target": "c", "path": "/bin/true"}])
    with pytest.raises(RenderError, match="invalid profile name"):
        armor_profile_model(model, "Bad Name")
    apm = armor_profile_model(model, "good-name")
    assert apm["data"]["profile"]["content"]


def test_unknown_syscall_numbers_never_reach_the_seccomp_profile_and_are_counted() -> None:
    model = model_from_events("p", [{"v": 1, "kind": "syscalls", "target": "c",
                                     "names": ["read", "syscall_335", "unshare", "not_a_call"]}])
    assert model.syscalls == ("read", "unshare")
    dropped = model.total_coverage().dropped
    assert {(d.kind, d.value) for d in dropped} == {("syscall", "syscall_335"), ("syscall", "not_a_call")}
    names = [n for group in json.loads(render_seccomp(model))["syscalls"] for n in group["names"]]
    assert "syscall_335" not in names and "unshare" in names


def test_a_loaded_model_with_foreign_names_renders_only_the_arch_table() -> None:
    model = BehaviorModel(syscalls=("syscall_335", "execve", "open", "x86_only_fake"))
    x86 = [n for g in json.loads(render_seccomp(model))["syscalls"] for n in g["names"]]
    assert "execve" in x86 and "syscall_335" not in x86 and "x86_only_fake" not in x86
    arm = [n for g in json.loads(render_seccomp(model, "aarch64"))["syscalls"] for n in g["names"]]
    assert "open" not in arm and "openat" in arm and "execve" in arm
    assert render_seccomp(BehaviorModel(syscalls=("syscall_335",))) == ""


def _many_files(count: int, directories: int) -> BehaviorModel:
    files = tuple(FileRule(f"/data/d{i % directories}/f-{i}.txt", ("r", "w"), True) for i in range(count))
    return BehaviorModel(apparmor=AppArmorResult(profiles=("big",), files=files))


def test_sixty_thousand_file_rules_are_coalesced_into_a_profile_the_parser_accepts() -> None:
    model = _many_files(60_000, 400)
    rules = renderable_files(model)
    assert len(rules) <= MAX_FILE_RULES
    paths = {r.path for r in rules}
    for original in model.apparmor.files:  # every recorded file is still allowed, rw, as owner
        directory = original.path.rsplit("/", 1)[0]
        assert original.path in paths or directory + "/**" in paths
    assert all(r.owner and set(r.permissions) == {"r", "w"} for r in rules)
    profile = render_apparmor(model)
    check = check_apparmor(profile)
    assert check.checked and check.ok, check.message


def test_coalescing_keeps_small_sets_as_they_are_and_widens_only() -> None:
    rules = [FileRule("/a/b/c", ("r",), True), FileRule("/a/b/d", ("w",), False),
             FileRule("/e", ("r",), True)]
    assert coalesce(rules, 3) == rules
    assert coalesce(rules, 2) == [FileRule("/a/b/**", ("r", "w"), False), FileRule("/e", ("r",), True)]


def test_coalescing_climbs_to_shallower_directories_when_needed() -> None:
    rules = [FileRule(f"/top{i % 3}/d{i}/f", ("r",), False) for i in range(30)]
    out = coalesce(rules, 5)
    assert sorted(r.path for r in out) == ["/top0/**", "/top1/**", "/top2/**"]


def test_rules_that_cannot_be_coalesced_enough_are_a_clear_render_error() -> None:
    rules = [FileRule(f"/t{i}", ("r",), False) for i in range(20)]
    with pytest.raises(CoalesceError, match="cannot be coalesced below 10"):
        coalesce(rules, 10)
