"""What the agent benchmark reads of the product's processes: log times, journal first events, memory."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

from bench.agentworld import log_time, tree_memory
from bench.bench_agent import JournalWatcher, spread


def test_an_app_log_line_gives_its_time_in_epoch_seconds() -> None:
    line = "2026-12-01 20:50:15,813 I agent.recording: Tracing container target=cb215 cgroup=/x"
    expected = datetime.datetime(2026, 12, 1, 20, 50, 15, 813000).timestamp()
    assert log_time(line) == expected
    assert log_time("partial output" + line) == expected
    assert log_time("no time here") is None


def test_the_journal_watcher_keeps_each_targets_first_event_across_a_snapshot(tmp_path: pathlib.Path) -> None:
    journal = tmp_path / "ns_p_uid.snapshot.journal"
    journal.write_text(json.dumps({"kind": "file", "target": "ca"}) + "\n")
    watcher = JournalWatcher(tmp_path)
    watcher.start()
    try:
        deadline = time.monotonic() + 5
        while "ca" not in watcher.first and time.monotonic() < deadline:
            time.sleep(0.02)
        first_a = watcher.first["ca"]
        journal.write_text("")  # a snapshot empties the journal
        while watcher.offsets.get(journal) != 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        with journal.open("a") as handle:
            handle.write(json.dumps({"kind": "exec", "target": "cb"}) + "\n" + '{"target": "ca"}\n{"torn')
        while "cb" not in watcher.first and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watcher.done.set()
        watcher.join()
    assert set(watcher.first) == {"ca", "cb"}
    assert watcher.first["ca"] == first_a <= watcher.first["cb"]


def test_memory_of_a_process_tree_counts_its_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 5
        while child.pid not in tree_memory(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.05)
        found = tree_memory(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert {os.getpid(), child.pid} <= set(found)
    assert all(0 < m.anon <= m.rss and 0 < m.pss <= m.rss for m in found.values())


def test_a_spread_is_median_p90_and_max() -> None:
    assert spread([float(v) for v in range(1, 11)]) == "5.50 s / 10.00 s / 10.00 s"
