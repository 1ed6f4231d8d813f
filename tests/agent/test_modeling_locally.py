"""The user guide's behaviours, modeled locally with ``app.py model -- CMD``."""

from __future__ import annotations

import json
import pathlib
import shutil

from tests.agent.modeling import allowed, app, model, rules


def test_root_reading_its_own_etc_shadow_gives_an_owner_read_rule(tmp_path: pathlib.Path) -> None:
    apparmor, _, _ = model(tmp_path, "shadow", "cat", "/etc/shadow")
    assert "owner /etc/shadow r" in rules(apparmor)
    assert "/usr/bin/cat ix" in rules(apparmor)


def test_cat_of_a_file_alone_gives_no_capability(tmp_path: pathlib.Path) -> None:
    apparmor, _, _ = model(tmp_path, "catonly", "cat", "/etc/hostname")
    assert not [r for r in rules(apparmor) if r.startswith("capability")]


def test_unshare_gives_both_executables_sys_admin_and_the_unshare_syscall(tmp_path: pathlib.Path) -> None:
    apparmor, seccomp, _ = model(tmp_path, "unshare", "unshare", "-Un", "id")
    found = rules(apparmor)
    assert {"/usr/bin/unshare ix", "/usr/bin/id ix", "capability sys_admin"} <= set(found)
    assert "unshare" in allowed(seccomp)


def test_writing_then_reading_an_own_file_gives_an_owner_rw_rule(tmp_path: pathlib.Path) -> None:
    # not under /tmp (generalized to /tmp/**) and no random-looking component (globbed)
    directory = pathlib.Path("/srv/varmor-rw-test")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "data.txt"
    try:
        apparmor, _, _ = model(tmp_path, "rw", "sh", "-c", f"echo hi > {target}; cat {target}")
    finally:
        shutil.rmtree(directory)
    assert f"owner {target} rw" in rules(apparmor)


def test_the_model_file_is_an_armor_profile_model_and_the_summary_counts_classes(
        tmp_path: pathlib.Path) -> None:
    _, _, summary = model(tmp_path, "summary", "cat", "/etc/hostname")
    document = json.loads((tmp_path / "summary.model.json").read_text())
    assert document["kind"] == "ArmorProfileModel"
    assert document["data"]["profile"]["content"]
    assert "Modeled summary" in summary and "exec=1" in summary and "lost_events=0" in summary


def test_the_summary_says_the_profile_passed_apparmor_parser(tmp_path: pathlib.Path) -> None:
    _, _, summary = model(tmp_path, "parsed", "cat", "/etc/hostname")
    assert "The AppArmor profile is accepted by apparmor_parser -Q -K" in summary
    assert "warning:" not in summary


def test_a_window_with_no_syscall_writes_no_seccomp_file_and_says_so(tmp_path: pathlib.Path) -> None:
    from agent.localmode import fresh_cgroup, remove_cgroup

    cgroup = fresh_cgroup("empty")
    try:
        done = app("model", "--name", "idle", "--out", str(tmp_path), "--cgroup", cgroup, "--duration", "1")
    finally:
        remove_cgroup(cgroup)
    assert done.returncode == 0, done.stderr
    assert "warning: no syscall was recorded: no seccomp profile written" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idle.apparmor", "idle.model.json"]


def test_losses_and_dropped_records_are_announced_in_the_summary() -> None:
    from agent.localmode import build_outputs

    events = [{"v": 1, "kind": "syscalls", "target": "p", "names": ["read", "syscall_335"]},
              {"v": 1, "kind": "stats", "target": "p", "lost_events": 5, "map_full": 0, "paths_truncated": 2,
               "sources": ["ebpf"]}]
    outputs = build_outputs("p", events)
    assert outputs.warnings == ["the model is incomplete: 5 events lost in the kernel, 2 paths truncated, "
                                "1 records dropped; the profiles may deny what the workload did"]
    assert '"syscall_335"' not in outputs.files[".seccomp.json"]


def test_a_profile_that_cannot_be_rendered_is_an_error_not_an_empty_profile() -> None:
    from agent.localmode import build_outputs

    events = [{"v": 1, "kind": "file", "target": "p", "path": f"/top{i}", "access": ["read"], "owner": True}
              for i in range(10_001)]
    outputs = build_outputs("p", events)
    assert outputs.errors and outputs.errors[0].startswith("no AppArmor profile: 10001 file rules cannot")
    assert ".apparmor" not in outputs.files
    document = json.loads(outputs.files[".model.json"])
    assert document["status"]["ready"] is False and "profile" not in document["data"]
    assert len(document["data"]["dynamicResult"]["apparmor"]["files"]) == 10_001
