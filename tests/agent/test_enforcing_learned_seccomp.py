"""Enforcing a learned model on the real kernel: the workload runs, an unseen action gets EPERM.

The workload is modeled with ``app.py model`` (real BPF tracer, as root), its DefenseInDepth
seccomp profile is built by ``generator.enforcing`` from the ArmorProfileModel, and
``app.py verify`` (the project's seccomp runner) runs commands under it.
"""

from __future__ import annotations

import json
import pathlib
import subprocess

from generator.enforcing import enforcing_profile
from tests.agent.modeling import app, model

# runs the unshare binary (-V: print the version) but never the unshare syscall
WORKLOAD = ("sh", "-c", "unshare -V > /dev/null && cat /etc/hostname")


def _profile(out: pathlib.Path, allow_violations: bool) -> pathlib.Path:
    apm = json.loads((out / "learned.model.json").read_text())
    defense = {"seccomp": {"profileType": "BehaviorModel"}, "allowViolations": allow_violations}
    policy = {"enforcer": "Seccomp", "mode": "DefenseInDepth", "defenseInDepth": defense}
    profile = enforcing_profile(apm, policy, "learned", "varmor")
    path = out / f"enforcing-{allow_violations}.json"
    path.write_text(profile.seccomp)
    return path


def test_the_workload_runs_under_its_learned_profile_and_an_unseen_unshare_fails_with_eperm(
        tmp_path: pathlib.Path) -> None:
    _, learned, _ = model(tmp_path, "learned", *WORKLOAD)
    assert "unshare" not in {n for group in learned["syscalls"] for n in group["names"]}
    enforcing = _profile(tmp_path, allow_violations=False)

    runs = app("verify", "--seccomp", str(enforcing), "--", *WORKLOAD)
    assert runs.returncode == 0, runs.stderr
    assert runs.stdout.strip() == pathlib.Path("/etc/hostname").read_text().strip()

    unconfined = subprocess.run(["unshare", "-Un", "true"], capture_output=True, text=True, check=False)
    assert unconfined.returncode == 0, unconfined.stderr  # the kernel allows it: the profile is what denies
    denied = app("verify", "--seccomp", str(enforcing), "--", "unshare", "-Un", "true")
    assert denied.returncode != 0
    assert "unshare failed: Operation not permitted" in denied.stderr


def test_with_allow_violations_the_unseen_action_is_logged_not_denied(tmp_path: pathlib.Path) -> None:
    model(tmp_path, "learned", *WORKLOAD)
    logging = _profile(tmp_path, allow_violations=True)
    assert json.loads(logging.read_text())["defaultAction"] == "SCMP_ACT_LOG"
    allowed = app("verify", "--seccomp", str(logging), "--", "unshare", "-Un", "true")
    assert allowed.returncode == 0, allowed.stderr
