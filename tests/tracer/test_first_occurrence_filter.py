"""The kernel's first-occurrence filter (an LRU behind a cache of keys already passed) hides only
what was recorded already: for the same target, origin and access. Each workload opens its files
twice, so the second round goes through the cache that the first one filled."""

from __future__ import annotations

import os
import pathlib

from tests.tracer.harness import Container, TracerProcess, files, kinds, traced

FILES = 3000
OPEN_TWICE = ("import sys\n"
              "names = [f'{sys.argv[1]}/f{i}' for i in range(int(sys.argv[2]))]\n"
              "for mode in sys.argv[3:]:\n"
              "    for _ in range(2):\n"
              "        for name in names:\n"
              "            open(name, mode).close()\n")


def tree(tmp_path: pathlib.Path, count: int) -> str:
    """A directory of ``count`` empty files and the opening script, made outside any target."""
    work = os.path.realpath(tmp_path)
    for i in range(count):
        pathlib.Path(work, f"f{i}").touch()
    pathlib.Path(work, "open.py").write_text(OPEN_TWICE)
    return work


def opened(events: list[dict[str, object]], work: str, count: int) -> list[set[str]]:
    seen = files(events)
    return [seen.get(f"{work}/f{i}", set()) for i in range(count)]


def test_files_one_target_opened_are_recorded_again_for_the_next_target_that_opens_them(
        tracer: TracerProcess, tmp_path: pathlib.Path) -> None:
    work = tree(tmp_path, FILES)
    first = traced(tracer, f"python3 {work}/open.py {work} {FILES} r")
    second = traced(tracer, f"python3 {work}/open.py {work} {FILES} r")
    assert all(access == {"read"} for access in opened(first, work, FILES))
    missing = [i for i, access in enumerate(opened(second, work, FILES)) if access != {"read"}]
    assert missing == [], f"{len(missing)} files of the second target not recorded"


def test_a_file_read_first_and_appended_to_later_records_both_accesses(tracer: TracerProcess,
                                                                     tmp_path: pathlib.Path) -> None:
    work = tree(tmp_path, FILES)
    events = traced(tracer, f"python3 {work}/open.py {work} {FILES} r a")
    missing = [i for i, access in enumerate(opened(events, work, FILES)) if not {"read", "append"} <= access]
    assert missing == [], f"{len(missing)} files without both accesses"
    assert kinds(events, "stats")[-1]["lost_events"] == 0


def test_files_the_container_opened_are_recorded_again_when_a_joined_process_opens_them(
        tracer: TracerProcess, tmp_path: pathlib.Path) -> None:
    count = 1000
    work = tree(tmp_path, count)
    ctr = Container(f"python3 {work}/open.py {work} {count} r")
    try:
        tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        ctr.run()
        ctr.join(f"python3 {work}/open.py {work} {count} r")
        events = tracer.remove(ctr.name)
    finally:
        ctr.remove()
    origins = {(str(e["path"]), str(e["origin"])) for e in kinds(events, "file")}
    for origin in ("container", "exec"):
        missing = [i for i in range(count) if (f"{work}/f{i}", origin) not in origins]
        assert missing == [], f"{len(missing)} files not recorded for origin {origin}"
