"""The agent's durable aggregate: snapshots on disk, atomic replacement, restart without loss."""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import pytest

from agent.snapshots import DurableAggregator, SnapshotError, load, save
from generator.aggregate import Aggregator, Options, model_from_events


def _events(count: int) -> list[dict[str, Any]]:
    return [{"v": 1, "kind": "file", "target": "c", "path": f"/srv/data/f{i}", "access": ["read"],
             "owner": True} for i in range(count)] + [
        {"v": 1, "kind": "syscalls", "target": "c", "names": ["read", "syscall_335"]},
        {"v": 1, "kind": "stats", "target": "c", "lost_events": 3, "map_full": 0, "paths_truncated": 1,
         "sources": ["ebpf"]}]


def test_a_restarted_recorder_continues_from_its_snapshot_and_loses_nothing(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "p.snapshot")
    stream = _events(50)
    first = DurableAggregator(path, "p", Options(node="n1"), every=7)
    for event in stream[:30]:
        first.add(event)
    first.save()
    del first  # the agent dies here; everything up to the save is on disk
    second = DurableAggregator(path, "p", Options(node="n1"), every=7)
    for event in stream[30:]:
        second.add(event)
    assert second.aggregator.model() == model_from_events("p", stream, Options(node="n1"))


def test_saving_replaces_the_file_whole_and_leaves_no_temp_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "p.snapshot"
    aggregator = Aggregator("p")
    for event in _events(5):
        aggregator.add(event)
        save(str(path), aggregator)
    assert sorted(os.listdir(tmp_path)) == ["p.snapshot"]
    assert load(str(path), "ignored").model() == aggregator.model()


def test_a_save_that_fails_before_the_rename_keeps_the_previous_snapshot(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.snapshot"
    aggregator = Aggregator("p")
    aggregator.add(_events(1)[0])
    save(str(path), aggregator)
    before = path.read_bytes()
    aggregator.add(_events(2)[1])

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)  # the machine fails between write and rename
    with pytest.raises(OSError):
        save(str(path), aggregator)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["p.snapshot"]


def test_no_snapshot_starts_empty_and_a_bad_one_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    assert load(str(tmp_path / "none"), "p").model() == model_from_events("p", [])
    bad = tmp_path / "bad"
    bad.write_text(json.dumps({"version": 1}))
    with pytest.raises(SnapshotError, match="unusable"):
        load(str(bad), "p")
    link = tmp_path / "link"
    link.symlink_to(bad)
    with pytest.raises(SnapshotError, match="cannot read"):
        load(str(link), "p")
