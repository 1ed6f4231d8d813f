"""A capability is recorded only for an audited check: the kernel's noaudit checks (fork's
dup_mmap, mmap, brk, execve: CAP_SYS_ADMIN; reads under /proc/sys/net: CAP_NET_ADMIN) add none,
while programs that really use one still get it (reading /proc/sys/net/core/bpf_jit_* makes an
audited CAP_SYS_ADMIN check, so those files are left out)."""

from __future__ import annotations

import os
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
