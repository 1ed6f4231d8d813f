"""The user guide's behaviours, modeled locally with ``app.py model -- CMD``."""

from __future__ import annotations

import json
import pathlib
import shutil

from tests.agent.modeling import allowed, model, rules


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
