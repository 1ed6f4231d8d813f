"""The incremental aggregator: snapshot, restore, continue — the same model as one pass."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.aggregate import Aggregator, Options, model_from_events

TARGETS = st.sampled_from(["c1", "c2"])
ORIGINS = st.sampled_from([None, "container", "exec"])
PATHS = st.sampled_from(["/etc/shadow", "/root/c1", "/usr/lib/x86_64-linux-gnu/libc.so.6", "relative",
                         "/srv/a b#c", "/tmp/x", "/var/log/app.log", "/srv/\udcff"])


def _event(kind: str, target: str, origin: str | None, ts: float, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"v": 1, "kind": kind, "target": target, "ts": ts, "node": "n1",
                             "container": target, **fields}
    if origin is not None:
        event["origin"] = origin
    return event


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["exec", "file", "capability", "socket", "connect", "ptrace", "signal",
                                 "mount", "syscalls", "stats", "unhandled", "bad"]))
    target, origin = draw(TARGETS), draw(ORIGINS)
    ts = draw(st.floats(0, 100))
    if kind == "exec":
        return _event(kind, target, origin, ts, path=draw(PATHS))
    if kind == "file":
        access = draw(st.lists(st.sampled_from(["read", "write", "append", "mmap", "lock"]), min_size=1))
        return _event(kind, target, origin, ts, path=draw(PATHS), access=access, owner=draw(st.booleans()))
    if kind == "capability":
        return _event(kind, target, origin, ts, name=draw(st.sampled_from(["sys_admin", "chown", "nope"])))
    if kind == "socket":
        return _event(kind, target, origin, ts, domain=draw(st.sampled_from(["inet", "unix"])),
                      type=draw(st.sampled_from(["stream", "dgram", ""])), protocol="")
    if kind == "connect":
        port = draw(st.integers(1, 3))
        return _event(kind, target, origin, ts, domain="inet", address="10.0.0.1", port=port)
    if kind in ("ptrace", "signal"):
        peer = draw(st.sampled_from(["unconfined", "p//null-/bin/ps", "p"]))
        extra = {"signals": ["term"]} if kind == "signal" else {}
        return _event(kind, target, origin, ts, peer=peer, permissions=["send"], external=True, **extra)
    if kind == "mount":
        return _event(kind, target, origin, ts, path="/mnt", fstype="tmpfs", flags=draw(st.lists(
            st.sampled_from(["ro", "nosuid"]), max_size=2)))
    if kind == "syscalls":
        names = draw(st.lists(st.sampled_from(["read", "unshare", "syscall_335", "mkdir"]), max_size=3))
        return _event(kind, target, origin, ts, names=names)
    if kind == "stats":
        return _event(kind, target, origin, ts, lost_events=draw(st.integers(0, 5)), map_full=0,
                      paths_truncated=draw(st.integers(0, 5)), sources=["ebpf"])
    if kind == "unhandled":
        return _event(kind, target, origin, ts, text=draw(st.sampled_from(["dbus x", "dbus y"])))
    return {"v": 2, "kind": "file"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), max_size=40), st.lists(st.integers(0, 40), max_size=5))
def test_any_split_into_snapshot_and_restore_segments_gives_the_one_pass_model(
        stream: list[dict[str, Any]], cuts: list[int]) -> None:
    options = Options(node="n1")
    one_pass = model_from_events("p", stream, options)
    aggregator = Aggregator("p", options)
    for index, event in enumerate(stream):
        if index in cuts:
            aggregator.model()  # reading the model mid-stream changes nothing
            aggregator = Aggregator.restore(json.loads(json.dumps(aggregator.snapshot())))
        aggregator.add(event)
    restored = Aggregator.restore(json.loads(json.dumps(aggregator.snapshot())))
    assert restored.model() == one_pass
    assert aggregator.model() == one_pass


def test_the_snapshot_keeps_counters_drops_and_options() -> None:
    aggregator = Aggregator("p", Options(node="n7", classify=False))
    aggregator.add({"v": 1, "kind": "syscalls", "target": "c", "names": ["read", "syscall_335"]})
    aggregator.add({"v": 9, "kind": "file"})
    restored = Aggregator.restore(aggregator.snapshot())
    assert restored.options == aggregator.options
    total = restored.model().total_coverage()
    assert total.invalid_events == 1
    assert [d.value for d in total.dropped] == ["syscall_335"]


@pytest.mark.parametrize("snapshot", [{}, {"version": 2}, {"version": 1, "options": {}},
                                      {"version": 1, "options": [], "union": {}, "stats": {}, "invalid": 0}])
def test_an_unusable_snapshot_is_a_value_error(snapshot: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Aggregator.restore(snapshot)
