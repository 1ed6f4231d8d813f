"""Allowed violations: the kernel's SECCOMP_RET_LOG records, attributed to the containers whose
enforcing profile allows violations, reported once per container and syscall, losses counted.

The last test runs a real process under a logging seccomp profile (``app.py verify``) and reads
the real ``/dev/kmsg``.
"""

from __future__ import annotations

import json
import os
import pathlib
import time
from typing import Any

from agent.checks import NodePaths, cgroup2_root
from agent.containers import cgroup_from_proc
from agent.violations import (
    KmsgReader,
    Violation,
    ViolationWatcher,
    allowing_violations,
    parse_violation,
    suppressed,
)
from agent.windows import WiredContainer
from generator.syscalls import syscall_names
from tests.agent.modeling import app

LINE = ('6,3517499,10583199013,-;audit: type=1326 audit(1796165622.520:3517499): auid=4294967295 uid=0 '
        'gid=0 ses=4294967295 pid={pid} comm="unshare" exe="/usr/bin/unshare" sig=0 arch=c000003e '
        'syscall=272 compat=0 ip=0x7f9e37056b9a code={code}')
C0 = WiredContainer("abc", "varmor-cluster-varmor-demo-4", "default", "demo-4-x", "c0")


def test_only_logged_seccomp_records_are_violations() -> None:
    logged = Violation(7, "unshare", "/usr/bin/unshare", "unshare")
    assert parse_violation(LINE.format(pid=7, code="0x7ffc0000")) == logged
    assert parse_violation(LINE.format(pid=7, code="0x50001")) is None  # SCMP_ACT_ERRNO: denied, not allowed
    assert parse_violation("6,1,2,-;veth0: entered promiscuous mode") is None
    assert suppressed("4,9,9,-;kauditd_printk_skb: 632 callbacks suppressed") == 632


def test_a_violation_is_told_once_per_container_and_syscall_and_strangers_are_counted() -> None:
    told: list[tuple[WiredContainer, Violation]] = []
    watcher = ViolationWatcher(lambda _t: [], {1: "/cg/c0", 2: "/cg/other"}.get,
                               lambda c, v: told.append((c, v)))
    watcher.handle(LINE.format(pid=1, code="0x7ffc0000"))  # nothing watched yet: a modeling record
    assert told == [] and watcher.counts.unattributed == 0
    watcher.watch({"/cg/c0": C0})
    for pid in (1, 1, 2, 3):
        watcher.handle(LINE.format(pid=pid, code="0x7ffc0000"))
    watcher.handle("4,9,9,-;kauditd_printk_skb: 5 callbacks suppressed")
    deadline = time.monotonic() + 5  # told off the reading thread
    while not told and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [(c.name, v.syscall) for c, v in told] == [("c0", "unshare")]
    counts = watcher.counts
    assert (counts.attributed, counts.unattributed, counts.suppressed) == (2, 2, 5)
    assert counts.per_container == {("abc", "unshare"): 2}
    watcher.watch({})  # the container is gone: its counts go too
    assert counts.per_container == {}


def test_only_containers_of_enforcing_profiles_in_complain_mode_are_watched() -> None:
    def armor_profile(name: str, mode: str, modeling: bool) -> dict[str, Any]:
        return {"metadata": {"name": name}, "spec": {"profile": {"mode": mode},
                                                    "behaviorModeling": {"enable": modeling, "duration": 1}}}
    profiles = [armor_profile("varmor-allow", "complain", False),
                armor_profile("varmor-model", "complain", True),
                armor_profile("varmor-enforce", "enforce", False)]
    containers = [WiredContainer(f"id-{name}", f"varmor-{name}", "ns", "pod", name)
                  for name in ("allow", "model", "enforce", "unknown")]
    watched = allowing_violations(profiles, containers, lambda cid: f"/cg/{cid}")
    assert {cgroup: c.name for cgroup, c in watched.items()} == {"/cg/id-allow": "allow"}
    assert allowing_violations(profiles, containers, lambda cid: None) == {}  # no cgroup yet: not watched


def test_a_real_logged_syscall_is_read_from_the_kernel_log_and_attributed(tmp_path: pathlib.Path) -> None:
    profile = tmp_path / "allow-violations.json"
    allowed = [name for name in syscall_names("x86_64") if name != "unshare"]
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_LOG",
                                   "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]}))
    reader = KmsgReader()
    told: list[Violation] = []
    root = cgroup2_root(NodePaths())
    assert root is not None
    mine = cgroup_from_proc(os.getpid(), root)
    assert mine is not None
    # The verify child stays in this test's cgroup, standing for a container; it lives for a second
    # after the logged unshare (unshare execs sleep), so its cgroup is read from /proc as the agent does.
    watcher = ViolationWatcher(reader.read, lambda pid: cgroup_from_proc(pid, root),
                               lambda _c, v: told.append(v))
    watcher.watch({mine: C0})
    watcher.start()
    try:
        for _attempt in range(3):  # the kernel's printk limit (10 per 5 s, machine-wide) may drop it
            run = app("verify", "--seccomp", str(profile), "--", "unshare", "-Un", "sleep", "1")
            assert run.returncode == 0, run.stderr  # logged, not denied
            deadline = time.monotonic() + 6
            while not told and time.monotonic() < deadline:
                time.sleep(0.1)
            if told:
                break
    finally:
        watcher.close()
        reader.close()
    assert told and told[0].syscall == "unshare" and told[0].exe == "/usr/bin/unshare", watcher.counts
