"""Merging node reports: upstream's union semantics, idempotent per node."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from generator.merge import merge
from generator.models import (
    AppArmorResult,
    BehaviorModel,
    Coverage,
    ExecOnly,
    FileRule,
    Provenance,
    Ptrace,
    Signal,
    Socket,
)


def _model(node: str, files: tuple[FileRule, ...] = (), syscalls: tuple[str, ...] = (),
           lost: int = 0, **apparmor: object) -> BehaviorModel:
    return BehaviorModel(
        apparmor=AppArmorResult(profiles=("p",), files=files, **apparmor),  # type: ignore[arg-type]
        syscalls=syscalls,
        coverage=(Coverage(node=node, lost_events=lost, sources=("ebpf",)),),
        provenance=(Provenance(node=node, pod="pod", first_seen=10.0, last_seen=20.0),),
    )


def test_file_permissions_are_united_and_owner_is_anded() -> None:
    a = _model("n1", (FileRule("/etc/x", ("r",), owner=True),))
    b = _model("n2", (FileRule("/etc/x", ("w",), owner=False, old_path="/etc/x.1"),))
    merged = merge(a, b)
    assert merged.apparmor.files == (FileRule("/etc/x", ("r", "w"), owner=False, old_path="/etc/x.1"),)


def test_first_non_empty_old_path_is_kept() -> None:
    a = _model("n1", (FileRule("/tmp/**", ("r",), True, "/tmp/a"),))
    b = _model("n2", (FileRule("/tmp/**", ("r",), True, "/tmp/b"),))
    assert merge(a, b).apparmor.files[0].old_path == "/tmp/a"


def test_sets_keep_first_seen_order() -> None:
    a = _model("n1", syscalls=("read", "unshare"), executions=("/bin/b",))
    b = _model("n2", syscalls=("execve", "read"), executions=("/bin/a", "/bin/b"))
    merged = merge(a, b)
    assert merged.syscalls == ("read", "unshare", "execve")
    assert merged.apparmor.executions == ("/bin/b", "/bin/a")


def test_ptraces_and_signals_are_keyed_by_peer() -> None:
    a = _model("n1", ptraces=(Ptrace("x", ("read",)),), signals=(Signal("x", ("send",), ("term",)),))
    b = _model("n2", ptraces=(Ptrace("x", ("trace",), True),),
               signals=(Signal("x", ("receive",), ("kill",)),))
    merged = merge(a, b)
    assert merged.apparmor.ptraces == (Ptrace("x", ("read", "trace"), True),)
    assert merged.apparmor.signals == (Signal("x", ("send", "receive"), ("term", "kill")),)


def test_sockets_are_united_by_equality() -> None:
    a = _model("n1", sockets=(Socket("inet", "stream", "tcp"),))
    b = _model("n2", sockets=(Socket("inet", "stream", "tcp"), Socket("unix", "dgram")))
    assert merge(a, b).apparmor.sockets == (Socket("inet", "stream", "tcp"), Socket("unix", "dgram"))


def test_the_same_node_report_twice_changes_nothing() -> None:
    a = _model("n1", (FileRule("/etc/x", ("r",), True),), ("read",), lost=3)
    b = _model("n2", (FileRule("/etc/y", ("w",), True),), ("write",), lost=4)
    once = merge(a, b)
    assert merge(once, a) == once
    assert merge(a, b, a, b) == once
    assert once.total_coverage().lost_events == 7


def test_provenance_spans_first_and_last_seen() -> None:
    a = _model("n1")
    later = BehaviorModel(provenance=(Provenance(node="n1", pod="pod", first_seen=5.0, last_seen=50.0),))
    assert merge(a, later).provenance == (Provenance(node="n1", pod="pod", first_seen=5.0, last_seen=50.0),)


def test_exec_only_records_lose_the_mark_once_a_container_did_the_same() -> None:
    exec_node = BehaviorModel(apparmor=AppArmorResult(executions=("/usr/bin/id",)),
                              exec_only=ExecOnly(executions=("/usr/bin/id",)))
    container_node = BehaviorModel(apparmor=AppArmorResult(executions=("/usr/bin/id",)))
    assert merge(exec_node).exec_only.executions == ("/usr/bin/id",)
    assert merge(exec_node, container_node).exec_only.executions == ()
    assert merge(container_node, exec_node).exec_only.executions == ()


names = st.sampled_from(["a", "b", "c", "d"])
models = st.builds(
    lambda node, paths, calls: _model(
        node, tuple(FileRule("/" + p, ("r",), True) for p in paths), tuple(calls)),
    st.sampled_from(["n1", "n2", "n3"]), st.lists(names, max_size=4, unique=True),
    st.lists(names, max_size=4, unique=True),
)


@given(st.lists(models, min_size=1, max_size=5))
def test_merge_is_idempotent(reports: list[BehaviorModel]) -> None:
    merged = merge(*reports)
    assert merge(merged, *reports) == merged
    assert merge(merged, merged) == merged
