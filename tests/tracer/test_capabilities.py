"""A capability is recorded only for an audited check: the kernel's noaudit checks (fork's
dup_mmap, mmap, brk, execve: CAP_SYS_ADMIN; reads under /proc/sys/net: CAP_NET_ADMIN) add none,
while programs that really use one still get it (reading /proc/sys/net/core/bpf_jit_* makes an
audited CAP_SYS_ADMIN check, so those files are left out). Nor do checks made with someone else's
credentials: overlayfs copies a directory up to the upper layer with the mounter's credentials,
and its DAC checks on the work directory (mode 000) are AppArmor's business of the mounter's label,
not the workload's (the guide's `echo ... > /root/c1` in a container did exactly this)."""

from __future__ import annotations

import os
import subprocess
import tempfile

from tests.tracer.harness import TracerProcess, kinds, traced

NOAUDIT_WORK = ("import mmap, os\n"
                "for _ in range(20):\n"
                "    pid = os.fork()\n"
                "    if pid == 0:\n"
                "        os._exit(0)\n"
                "    os.waitpid(pid, 0)\n"
                "m = mmap.mmap(-1, 1 << 24); m[0] = 1\n"
                "blob = bytearray(1 << 26)\n"
                "for name in os.listdir('/proc/sys/net/ipv4'):\n"
                "    try:\n"
                "        open('/proc/sys/net/ipv4/' + name).read()\n"
                "    except OSError:\n"
                "        pass\n"
                "os.execv('/bin/true', ['true'])\n")


def test_fork_mmap_brk_execve_and_proc_sys_reads_add_no_capability(tracer: TracerProcess) -> None:
    work = tempfile.mkdtemp(prefix="varmor-caps-")
    with open(os.path.join(work, "noaudit.py"), "w") as f:
        f.write(NOAUDIT_WORK)
    events = traced(tracer, f"/usr/bin/python3 {work}/noaudit.py; cat /proc/sys/net/ipv4/ip_forward "
                            "/proc/sys/net/core/somaxconn > /dev/null; sh -c 'true & wait'")
    assert [(e["name"], e["comm"]) for e in kinds(events, "capability")] == []
    assert "/proc/sys/net/core/somaxconn" in {e["path"] for e in kinds(events, "file")}


def test_chown_to_another_user_and_a_new_network_namespace_still_get_their_capabilities(
        tracer: TracerProcess) -> None:
    work = tempfile.mkdtemp(prefix="varmor-caps-")
    events = traced(tracer, f"touch {work}/f; chown 4321 {work}/f; unshare -Un true")
    names = {e["name"] for e in kinds(events, "capability")}
    assert {"chown", "sys_admin"} <= names


def test_an_overlay_copy_up_adds_no_capability_but_the_workloads_own_dac_override_is_recorded(
        tracer: TracerProcess) -> None:
    base = tempfile.mkdtemp(prefix="varmor-caps-")
    lower, upper, work, merged = (os.path.join(base, d) for d in ("lower", "upper", "work", "merged"))
    for directory in (lower + "/root", upper, work, merged):
        os.makedirs(directory)
    os.chmod(lower + "/root", 0o700)
    locked = os.path.join(base, "locked")  # mode 000: dac_read_search to look up, dac_override to create
    os.makedirs(locked, mode=0)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={work}", merged], check=True)
    try:
        assert os.stat(os.path.join(work, "work")).st_mode & 0o777 == 0  # the kernel's own work dir
        overlay = traced(tracer, f"echo c1 > {merged}/root/c1")
        assert os.path.isdir(os.path.join(upper, "root"))  # the copy-up did happen
        own = traced(tracer, f"echo x > {locked}/f")
    finally:
        subprocess.run(["umount", merged], check=True)
    assert [(e["name"], e["comm"]) for e in kinds(overlay, "capability")] == []
    assert {e["name"] for e in kinds(own, "capability")} == {"dac_override", "dac_read_search"}
