"""The work queue de-duplicates keys, serialises a key, and retries failures with back-off."""

from __future__ import annotations

import threading
import time

from controller.workqueue import WorkQueue


def test_a_key_added_twice_is_handed_out_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert [queue.get(), queue.get()] == ["a", "b"]


def test_a_key_added_while_held_comes_back_after_done_not_before() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    assert queue.get() == "a"
    queue.add("a")
    got: list[str | None] = []
    thread = threading.Thread(target=lambda: got.append(queue.get()))
    thread.start()
    time.sleep(0.2)
    assert got == []  # the second worker does not get "a" while the first holds it
    queue.done("a")
    thread.join(timeout=2)
    assert got == ["a"]


def test_failures_back_off_exponentially_and_success_resets() -> None:
    queue: WorkQueue[str] = WorkQueue(base_delay=0.05, max_delay=1.0)
    queue.add("a")
    key = queue.get()
    assert key == "a"
    queue.done("a", failed=True)
    queue.done(queue.get() or "", failed=True)
    started = time.monotonic()
    assert queue.get() == "a"
    assert time.monotonic() - started >= 0.08  # second retry waits 2 × base
    assert queue.failures("a") == 2
    queue.done("a")
    assert queue.failures("a") == 0


def test_add_after_schedules_a_later_look_and_shutdown_releases_workers() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.1)
    started = time.monotonic()
    assert queue.get() == "a" and time.monotonic() - started >= 0.09
    queue.done("a")
    queue.shutdown()
    assert queue.get() is None


def test_a_burst_of_changes_within_the_delay_is_one_look_and_a_far_later_requeue_does_not_hide_it() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 60.0)  # the window's end, a minute away
    started = time.monotonic()
    for _ in range(50):
        queue.add_within("a", 0.1)
    assert queue.get() == "a"
    assert 0.08 <= time.monotonic() - started < 1.0
    queue.done("a")
    got: list[str | None] = []
    thread = threading.Thread(target=lambda: got.append(queue.get()), daemon=True)
    thread.start()
    thread.join(timeout=0.5)
    assert got == []  # the 49 other changes were the same look; only the minute-away requeue is left
    queue.shutdown()
    thread.join(timeout=2)
