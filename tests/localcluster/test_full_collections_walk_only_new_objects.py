"""The API server process freezes what a full collection leaves alive, and rescans everything at times."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from localcluster import pauses


@pytest.fixture
def hooks() -> Iterator[None]:
    before = list(gc.callbacks)
    yield
    gc.callbacks[:] = before
    gc.unfreeze()


def test_what_a_full_collection_leaves_alive_is_frozen_and_cycles_are_still_collected(hooks: None) -> None:
    pauses.keep_collections_short()
    pauses.keep_collections_short()  # idempotent: one hook
    assert sum(isinstance(c, pauses._AfterFullCollections) for c in gc.callbacks) == 1
    kept = [[i] for i in range(5000)]  # long-lived (tracked) objects made after the start
    assert id(kept[0]) in {id(entry) for entry in gc.get_objects()}  # walked by collections so far
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect(2) >= 1  # the young cycle is garbage: still collected
    walked = {id(entry) for entry in gc.get_objects()}  # every generation but the frozen one
    assert id(kept[0]) not in walked and id(kept[-1]) not in walked


def test_after_the_rescan_interval_a_full_collection_unfreezes_everything(hooks: None) -> None:
    now = [0.0]
    hook = pauses._AfterFullCollections(clock=lambda: now[0])
    gc.freeze()
    assert gc.get_freeze_count() > 0
    hook("stop", {"generation": 1, "collected": 0, "uncollectable": 0})
    hook("stop", {"generation": 2, "collected": 0, "uncollectable": 0})  # within the interval: freeze
    assert gc.get_freeze_count() > 0
    now[0] = pauses.RESCAN_SECONDS
    hook("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    assert gc.get_freeze_count() == 0 and hook.rescanned == pauses.RESCAN_SECONDS
