"""The agent's profile installer: seccomp profiles land whole in the kubelet's seccomp root,
AppArmor is loaded only where the kernel has it, and profiles of deleted ArmorProfiles go."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import pytest

from agent.installing import ProfileInstaller, remove_file, write_atomically

SECCOMP = json.dumps({"defaultAction": "SCMP_ACT_LOG"})


def armor_profile(name: str = "varmor-cluster-varmor-demo-4", enforcer: str = "AppArmorSeccomp",
                  seccomp: str = SECCOMP) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "varmor"},
            "spec": {"profile": {"name": name, "enforcer": enforcer, "mode": "complain",
                                 "seccompContent": seccomp,
                                 "content": f"profile {name} flags=(attach_disconnected) {{\n}}\n"}}}


@pytest.fixture
def installer(tmp_path: pathlib.Path) -> ProfileInstaller:
    return ProfileInstaller(tmp_path / "seccomp", tmp_path / "apparmor.d", apparmor=False)


def test_the_seccomp_profile_is_written_under_the_profile_name(installer: ProfileInstaller) -> None:
    outcome = installer.install(armor_profile())
    assert outcome.ok
    assert (installer.seccomp_root / "varmor-cluster-varmor-demo-4").read_text() == SECCOMP
    assert oct((installer.seccomp_root / "varmor-cluster-varmor-demo-4").stat().st_mode & 0o777) == "0o644"


def test_without_apparmor_in_the_kernel_the_node_says_so_and_stays_ready(installer: ProfileInstaller) -> None:
    outcome = installer.install(armor_profile())
    assert outcome.ok and outcome.message == "Ready; AppArmor not enabled on this node"
    assert not installer.apparmor_dir.exists()


def test_a_seccomp_profile_that_is_not_json_fails_with_the_reason(installer: ProfileInstaller) -> None:
    outcome = installer.install(armor_profile(seccomp="{not json"))
    assert not outcome.ok and "not JSON" in outcome.message
    assert not (installer.seccomp_root / "varmor-cluster-varmor-demo-4").exists()


def test_a_profile_name_that_differs_from_the_object_name_is_refused(installer: ProfileInstaller) -> None:
    bad = armor_profile()
    bad["spec"]["profile"]["name"] = "../../etc/passwd"
    outcome = installer.install(bad)
    assert not outcome.ok and "must equal" in outcome.message
    assert not installer.seccomp_root.exists()


def test_profiles_of_deleted_armor_profiles_go_and_foreign_files_stay(installer: ProfileInstaller) -> None:
    installer.install(armor_profile("varmor-a"))
    installer.install(armor_profile("varmor-b"))
    (installer.seccomp_root / "kubelet-own.json").write_text("{}")
    assert installer.remove_all_but(["varmor-b"]) == ["varmor-a"]
    assert sorted(p.name for p in installer.seccomp_root.iterdir()) == ["kubelet-own.json", "varmor-b"]


def test_a_rewrite_replaces_the_file_whole_and_leaves_no_temp_file(tmp_path: pathlib.Path) -> None:
    write_atomically(tmp_path, "varmor-x", "old")
    inode = os.stat(tmp_path / "varmor-x").st_ino
    write_atomically(tmp_path, "varmor-x", "new")
    assert (tmp_path / "varmor-x").read_text() == "new"
    assert os.stat(tmp_path / "varmor-x").st_ino != inode  # renamed over, never written in place
    assert [p.name for p in tmp_path.iterdir()] == ["varmor-x"]


def test_a_symlink_in_place_of_the_profile_is_replaced_not_followed(tmp_path: pathlib.Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "varmor-x").symlink_to(victim)
    write_atomically(tmp_path / "root", "varmor-x", "profile")
    assert victim.read_text() == "precious"
    assert (tmp_path / "root" / "varmor-x").read_text() == "profile"


@pytest.mark.parametrize("name", ["", ".", "..", "a/b"])
def test_unsafe_file_names_are_refused(tmp_path: pathlib.Path, name: str) -> None:
    with pytest.raises(ValueError, match="unsafe"):
        write_atomically(tmp_path, name, "x")


def test_upstreams_field_names_are_read_too(installer: ProfileInstaller) -> None:
    upstream = armor_profile()
    profile = upstream["spec"]["profile"]
    profile["seccomp"] = profile.pop("seccompContent")
    assert installer.install(upstream).ok
    assert (installer.seccomp_root / "varmor-cluster-varmor-demo-4").read_text() == SECCOMP


def test_a_profile_file_another_agent_removed_first_is_no_error(tmp_path: pathlib.Path) -> None:
    shared = [ProfileInstaller(tmp_path / "seccomp", tmp_path / f"apparmor-{n}", apparmor=False)
              for n in (1, 2)]
    shared[0].install(armor_profile())
    assert shared[0].remove_all_but([]) == ["varmor-cluster-varmor-demo-4"]
    assert shared[1].remove_all_but([]) == []
    (tmp_path / "gone").write_text("x")
    assert remove_file(tmp_path / "gone") is True
    assert remove_file(tmp_path / "gone") is False  # removed between listing and unlink: not a crash
