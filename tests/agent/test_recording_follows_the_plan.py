"""The agent's recording against its tracer port: events reach their window's durable aggregate,
targets follow the plan, the tracer is attached only while a window is open, a dead tracer is
restarted with its targets, and a restarted agent resumes from the snapshot."""

from __future__ import annotations

import pathlib
from typing import Any, ClassVar

from agent.recording import Recording, Sink, target_name
from agent.windows import Plan, Window, WiredContainer

WINDOW = Window("varmor", "varmor-cluster-varmor-demo-4", "uid-1", "AppArmorSeccomp", 0.0, 30)
C1 = WiredContainer("a" * 64, WINDOW.profile, "demo", "demo-4-x", "c1")


class FakeTracer:
    """Our own port (agent.recording.TracerPort), recording the commands it gets."""

    started: ClassVar[list[FakeTracer]] = []

    def __init__(self, sink: Sink) -> None:
        self.sink, self.closed, self.dead = sink, False, False
        self.targets: dict[str, str] = {}
        FakeTracer.started.append(self)

    def add(self, name: str, spec: str) -> None:
        self.targets[name] = spec

    def remove(self, name: str) -> None:
        self.sink({"v": 1, "kind": "syscalls", "target": name, "names": ["exit_group"]})
        del self.targets[name]

    def flush(self) -> dict[str, int]:
        return {}

    def close(self, timeout: float = 30.0) -> None:
        self.closed = True

    def alive(self) -> bool:
        return not self.dead


def open_plan() -> Plan:
    return Plan(targets={C1.container_id: (WINDOW.key, C1)}, tracing=True, due=(), next_change=1800.0)


def recording(state: pathlib.Path) -> Recording:
    FakeTracer.started = []
    return Recording(state, FakeTracer, clock=lambda: 100.0)


def cgroup_of(container_id: str) -> str | None:
    return f"/sys/fs/cgroup/unified/kubepods/pod1/{container_id}"


def file_event(target: str, path: str) -> dict[str, Any]:
    return {"v": 1, "kind": "file", "target": target, "path": path, "access": ["read"], "owner": True}


def test_an_open_window_attaches_the_tracer_to_its_containers_cgroups(tmp_path: pathlib.Path) -> None:
    rec = recording(tmp_path)
    rec.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    [tracer] = FakeTracer.started
    assert tracer.targets == {target_name(C1.container_id): f"cgroup={cgroup_of(C1.container_id)}"}


def test_events_land_in_their_windows_model_with_the_final_syscalls(tmp_path: pathlib.Path) -> None:
    rec = recording(tmp_path)
    rec.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    rec.on_event(file_event(target_name(C1.container_id), "/etc/shadow"))
    rec.on_event(file_event("someone-else", "/etc/passwd"))
    model = rec.finish(WINDOW)
    assert [f.path for f in model.apparmor.files] == ["/etc/shadow"]
    assert "exit_group" in model.syscalls


def test_no_open_window_detaches_the_tracer(tmp_path: pathlib.Path) -> None:
    rec = recording(tmp_path)
    rec.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    rec.sync(Plan(targets={}, tracing=False, due=(WINDOW,), next_change=None), {}, cgroup_of)
    assert FakeTracer.started[0].closed and rec.tracer is None


def test_a_dead_tracer_is_restarted_with_its_targets(tmp_path: pathlib.Path) -> None:
    now = [100.0]
    FakeTracer.started = []
    rec = Recording(tmp_path, FakeTracer, clock=lambda: now[0])
    rec.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    FakeTracer.started[0].dead = True
    rec.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    assert len(FakeTracer.started) == 1 and rec.restarts == 1  # backing off
    now[0] += 60
    rec.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    assert len(FakeTracer.started) == 2
    assert list(FakeTracer.started[1].targets) == [target_name(C1.container_id)]


def test_a_killed_agent_resumes_the_window_from_its_journal(tmp_path: pathlib.Path) -> None:
    first = recording(tmp_path)
    first.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    first.on_event(file_event(target_name(C1.container_id), "/root/c1"))
    # SIGKILL: no save, no close; only what reached the kernel's page cache survives.
    second = recording(tmp_path)
    second.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    second.on_event(file_event(target_name(C1.container_id), "/etc/shadow"))
    assert sorted(f.path for f in second.finish(WINDOW).apparmor.files) == ["/etc/shadow", "/root/c1"]


def test_a_deleted_armor_profile_drops_its_recording_and_snapshot(tmp_path: pathlib.Path) -> None:
    rec = recording(tmp_path)
    rec.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    rec.save_all()
    assert list(tmp_path.glob("*.snapshot"))
    assert rec.drop_except(set()) == ["uid-1"]
    assert list(tmp_path.iterdir()) == []


def test_an_audit_record_named_by_profile_lands_in_that_profiles_open_window(tmp_path: pathlib.Path) -> None:
    rec = recording(tmp_path)
    rec.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    assert rec.open_profiles() == {WINDOW.profile}
    event = file_event(WINDOW.profile, "/var/log/app.log") | {"sources": ["auditlog"]}
    rec.on_event(event)
    rec.on_event(file_event("varmor-some-other-profile", "/etc/hosts"))
    assert [f.path for f in rec.finish(WINDOW).apparmor.files] == ["/var/log/app.log"]


def test_a_torn_last_journal_line_is_skipped(tmp_path: pathlib.Path) -> None:
    first = recording(tmp_path)
    first.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    first.on_event(file_event(target_name(C1.container_id), "/root/c1"))
    [journal] = tmp_path.glob("*.journal")
    with journal.open("a") as handle:
        handle.write('{"v": 1, "kind": "file", "target": "c')  # died mid-write
    second = recording(tmp_path)
    second.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    second.on_event(file_event(target_name(C1.container_id), "/etc/shadow"))
    third = recording(tmp_path)  # killed again: the line after the torn one is whole
    third.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    assert sorted(f.path for f in third.finish(WINDOW).apparmor.files) == ["/etc/shadow", "/root/c1"]


def test_a_rollout_keeps_the_old_pods_data_and_records_the_new_ones(tmp_path: pathlib.Path) -> None:
    rec = recording(tmp_path)
    rec.sync(open_plan(), {WINDOW.key: WINDOW}, cgroup_of)
    rec.on_event(file_event(target_name(C1.container_id), "/root/old"))
    new = WiredContainer("b" * 64, WINDOW.profile, "demo", "demo-4-y", "c1")
    rolled = Plan(targets={new.container_id: (WINDOW.key, new)}, tracing=True, due=(), next_change=1800.0)
    assert rec.sync(rolled, {WINDOW.key: WINDOW}, cgroup_of) == [new.container_id]
    assert list(FakeTracer.started[0].targets) == [target_name(new.container_id)]
    rec.on_event(file_event(target_name(new.container_id), "/root/new"))
    assert sorted(f.path for f in rec.finish(WINDOW).apparmor.files) == ["/root/new", "/root/old"]

