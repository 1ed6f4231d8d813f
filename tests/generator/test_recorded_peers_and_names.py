"""Recorded signal/ptrace peers and special characters in paths, as the model keeps them."""

from __future__ import annotations

from typing import Any

from generator.aggregate import model_from_events
from generator.checking import check_apparmor
from generator.models import Ptrace, Signal
from generator.render import render_apparmor


def ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": 1, "kind": kind, "target": "c1", **fields}


def test_external_signal_peers_are_kept_in_the_model_and_merged_by_peer() -> None:
    model = model_from_events("p", [
        ev("signal", peer="unconfined", permissions=["send"], signals=["term"], external=True),
        ev("signal", peer="p", permissions=["send"], signals=["usr1"], external=False),
        ev("signal", peer="unconfined", permissions=["receive"], signals=["kill"], external=True),
    ])
    assert model.apparmor.signals == (Signal("unconfined", ("send", "receive"), ("term", "kill")),
                                      Signal("p", ("send",), ("usr1",)))


def test_external_ptrace_peers_stay_marked_external() -> None:
    model = model_from_events("p", [
        ev("ptrace", peer="unconfined", permissions=["read"], external=True),
        ev("ptrace", peer="p", permissions=["trace"], external=False),
    ])
    assert model.apparmor.ptraces == (Ptrace("unconfined", ("read",), True), Ptrace("p", ("trace",), False))


def test_null_suffixes_of_signal_and_ptrace_peers_are_cut_at_the_first_null() -> None:
    model = model_from_events("p", [
        ev("signal", peer="varmor-demo-4//null-/bin/ping//null-/bin/x", permissions=["send"],
           signals=["term"], external=False),
        ev("signal", peer="varmor-demo-4", permissions=["receive"], signals=["hup"], external=False),
        ev("ptrace", peer="varmor-demo-4//null-/usr/bin/ps", permissions=["read"], external=False),
        ev("signal", peer="other//null-", permissions=["send"], signals=["kill"], external=True),
    ])
    assert [s.peer for s in model.apparmor.signals] == ["varmor-demo-4", "other"]
    assert model.apparmor.signals[0] == Signal("varmor-demo-4", ("send", "receive"), ("term", "hup"))
    assert [p.peer for p in model.apparmor.ptraces] == ["varmor-demo-4"]


def test_a_hash_in_a_path_is_escaped_not_dropped_and_the_parser_accepts_it() -> None:
    model = model_from_events("p", [
        ev("file", path="/srv/notes#1.txt", access=["read"], owner=True),
        ev("exec", path="/opt/bin/run#me"),
    ])
    assert [f.path for f in model.apparmor.files] == ["/srv/notes\\#1.txt"]
    assert model.apparmor.executions == ("/opt/bin/run\\#me",)
    assert not model.total_coverage().dropped
    profile = render_apparmor(model)
    assert '  owner "/srv/notes\\#1.txt" r,\n' in profile
    assert '  "/opt/bin/run\\#me" ix,\n' in profile
    check = check_apparmor(profile)
    assert check.checked and check.ok, check.message
