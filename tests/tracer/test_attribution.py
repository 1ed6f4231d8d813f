"""Attribution: joined-later processes are marked, mount-namespace inode reuse is not
misattributed, untargeted cgroups record nothing, removed targets stop recording."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

from tests.tracer.harness import CGROUP_ROOT, Container, Event, TracerProcess, files, kinds


def test_a_process_that_joins_the_cgroup_later_is_recorded_and_marked_as_exec(tracer: TracerProcess) -> None:
    ctr = Container("cat /etc/hostname > /dev/null; sleep 2")
    try:
        tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        ctr.release()
        ctr.join("cat /etc/passwd > /dev/null")
        ctr.run()
        events = tracer.remove(ctr.name)
    finally:
        ctr.remove()
    origins = {(e["path"], e["origin"]) for e in kinds(events, "file")}
    assert ("/etc/hostname", "container") in origins
    assert ("/etc/passwd", "exec") in origins
    assert ("/etc/passwd", "container") not in origins


def beside(tracer: TracerProcess, marker: str, targeted_script: str, other_script: str,
           at_once: bool = False) -> list[Event]:
    """Run a targeted container and an untargeted one (the untargeted first, or both at once); the
    targeted one's events. The untargeted one's file, ``marker``.b, must appear in no event."""
    targeted, other = Container(targeted_script), Container(other_script)
    try:
        tracer.add(targeted.name, f"cgroup={targeted.cgroup}")
        for step in ((other.release, targeted.run, other.run) if at_once else (other.run, targeted.run)):
            step()
        events = tracer.remove(targeted.name)
    finally:
        targeted.remove()
        other.remove()
    assert not [e for e in tracer.events if marker + ".b" in str(e)]
    assert tracer.of(other.name) == []
    return events


def test_a_cgroup_that_is_not_targeted_records_nothing(tracer: TracerProcess) -> None:
    marker = f"/tmp/varmor-untargeted-{uuid.uuid4().hex}"
    events = beside(tracer, marker, f"touch {marker}.a", f"touch {marker}.b; cat {marker}.b")
    assert f"{marker}.a" in files(events)


def test_short_lived_processes_in_and_out_of_a_target_are_told_apart(tracer: TracerProcess) -> None:
    """The per-CPU answer is keyed at sys_exit by the address of the task's saved registers, on its
    kernel stack; the kernel hands a freed stack to the next new task, so hundreds of processes
    ending and starting side by side in a targeted and an untargeted cgroup must never share one."""
    marker = f"/tmp/varmor-stacks-{uuid.uuid4().hex}"
    loop = "for i in $(seq 300); do cat {0} > /dev/null; done"
    events = beside(tracer, marker, f"touch {marker}.a; " + loop.format(f"{marker}.a"),
                    f"touch {marker}.b; " + loop.format(f"{marker}.b"), at_once=True)
    assert f"{marker}.a" in files(events)


def test_a_removed_target_records_nothing_more(tracer: TracerProcess) -> None:
    marker = f"/tmp/varmor-removed-{uuid.uuid4().hex}"
    ctr = Container(f"sleep 0.5; touch {marker}")
    try:
        tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        before = tracer.remove(ctr.name)
        ctr.run()
        time.sleep(0.3)
    finally:
        ctr.remove()
    assert kinds(before, "syscalls")
    assert not [e for e in tracer.events if marker in str(e)]


def unshare_m(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_a_reused_mount_namespace_inode_is_not_misattributed(tracer: TracerProcess) -> None:
    first = unshare_m("read go; readlink /proc/self/ns/mnt; cat /etc/hostname > /dev/null")
    host_ns = os.readlink("/proc/self/ns/mnt")
    while os.readlink(f"/proc/{first.pid}/ns/mnt") == host_ns:
        time.sleep(0.01)
    tracer.add("ns-first", f"mntns={first.pid}")
    first_ns, _ = first.communicate("go\n")
    later: list[tuple[int, str]] = []
    for _ in range(60):  # namespace inodes are reused soon after the first one dies
        time.sleep(0.05)
        second = unshare_m("read go; readlink /proc/self/ns/mnt; cat /etc/passwd > /dev/null")
        later.append((second.pid, second.communicate("go\n")[0]))
        if later[-1][1] == first_ns:
            break
    events = tracer.remove("ns-first")
    seen = files(events)
    assert later[-1][1] == first_ns, "the kernel never reused the namespace inode"
    assert "/etc/hostname" in seen
    assert "/etc/passwd" not in seen
    assert not [e for e in events if e.get("pid") in {pid for pid, _ in later}]


def test_syscalls_of_joined_processes_arrive_in_their_own_exec_syscalls_event(tracer: TracerProcess) -> None:
    ctr = Container("sleep 2")
    try:
        tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        ctr.release()
        ctr.join("nproc > /dev/null")
        ctr.run()
        events = tracer.remove(ctr.name)
    finally:
        ctr.remove()
    by_origin = {e["origin"]: set(e["names"]) for e in kinds(events, "syscalls")}
    assert {"clock_nanosleep", "execve"} <= by_origin["container"]
    assert {"sched_getaffinity", "execve"} <= by_origin["exec"]
    assert "sched_getaffinity" not in by_origin["container"]


def test_processes_in_child_cgroups_of_a_target_are_attributed_to_it(tracer: TracerProcess) -> None:
    marker, name = f"/tmp/varmor-nested-{uuid.uuid4().hex}", f"ctr-{uuid.uuid4().hex[:8]}"
    script_cgroup = f"{CGROUP_ROOT}/varmor-test-{name}"
    inner, deeper = f"{script_cgroup}/inner", f"{script_cgroup}/inner/deeper"
    ctr = Container(f"mkdir -p {deeper}; echo $$ > {deeper}/cgroup.procs; touch {marker}.deeper; "
                    f"echo $$ > {inner}/cgroup.procs; touch {marker}.inner", name)
    assert ctr.cgroup == script_cgroup
    try:
        tracer.add(ctr.name, f"cgroup={script_cgroup}")
        ctr.release()
        out = ctr.run()
        events = tracer.remove(ctr.name)
    finally:
        for child in ("inner/deeper", "inner"):
            path = os.path.join(script_cgroup, child)
            if os.path.isdir(path):
                os.rmdir(path)
        ctr.remove()
    seen = files(events)
    assert f"{marker}.deeper" in seen and f"{marker}.inner" in seen, out
