"""Tracer overhead: ratios against an untraced baseline measured in the same run.

Measures, for processes in a targeted cgroup: a getppid loop (pure syscall cost), archiving a
directory tree with tar (a realistic workload), first-occurrence file events lost while a
process opens files at over 100,000 opens/s, the tracer's start time (process start until a
target is acknowledged, BCC compile included) and its RSS. Needs root, BPF and gcc.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from tests.tracer.harness import CGROUP_ROOT, TracerProcess

BENCH_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char **argv) {
    long n = atol(argv[2]);
    double t0 = now();
    if (!strcmp(argv[1], "getppid")) {
        for (long i = 0; i < n; i++) syscall(SYS_getppid);
    } else {                      /* opens DIR FILES: n opens over FILES distinct files */
        long files = atol(argv[4]); char p[4096];
        for (long i = 0; i < n; i++) {
            snprintf(p, sizeof p, "%s/f%ld", argv[3], i % files);
            int fd = openat(AT_FDCWD, p, O_RDONLY);
            if (fd >= 0) close(fd);
        }
    }
    printf("%.6f\n", now() - t0);
    return 0;
}
"""
REPS = 5
TAR_TREE = "/usr/lib/python3"


def in_cgroup(cgroup: str, argv: list[str]) -> float:
    """Run argv inside ``cgroup``; its own timer (first stdout line) or the wall time."""
    started = time.perf_counter()
    out = subprocess.run(["sh", "-c", f'echo $$ > {cgroup}/cgroup.procs && exec "$@"', "sh", *argv],
                         capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - started
    try:
        return float(out.split()[0])
    except (IndexError, ValueError):
        return wall


def median(run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(REPS))


def workloads(cgroup: str, tool: str, scratch: str) -> dict[str, float]:
    tar = ["tar", "-cf", f"{scratch}/tree.tar", "-C", os.path.dirname(TAR_TREE), os.path.basename(TAR_TREE)]
    return {
        "getppid": median(lambda: in_cgroup(cgroup, [tool, "getppid", "1000000"])),
        "tar": median(lambda: in_cgroup(cgroup, tar)),
    }


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]) / 1024


def open_storm(tracer: TracerProcess, cgroup: str, tool: str, scratch: str, files: int) -> tuple[float, int]:
    """(opens per second, first-occurrence events missing) for 200,000 opens over ``files`` files."""
    directory = pathlib.Path(scratch, f"storm{files}")
    directory.mkdir()
    for i in range(files):
        (directory / f"f{i}").touch()
    opens = 200_000
    seconds = in_cgroup(cgroup, [tool, "opens", str(opens), str(directory), str(files)])
    tracer.send("flush")
    time.sleep(1.0)
    prefix = f"{directory}/"
    seen = {e["path"] for e in tracer.events if e.get("kind") == "file" and e["path"].startswith(prefix)}
    return opens / seconds, files - len(seen)


def traced(cgroup: str, tool: str, scratch: str) -> tuple[dict[str, float], list[str]]:
    started = time.monotonic()
    tracer = TracerProcess()
    tracer.add("bench", f"cgroup={cgroup}")
    start_s = time.monotonic() - started
    try:
        times = workloads(cgroup, tool, scratch)
        storm = [open_storm(tracer, cgroup, tool, scratch, n) for n in (1_000, 20_000)]
        rss = rss_mib(tracer.proc.pid)
        events = tracer.remove("bench")
    finally:
        tracer.stop()
    stats = [e for e in events if e["kind"] == "stats"][-1]
    notes = [f"{rate:,.0f} opens/s over {n:,} files: {missing} first-occurrence events missing"
             for (rate, missing), n in zip(storm, (1_000, 20_000), strict=True)]
    notes.append(f"perf-buffer losses {stats['lost_events']}, map full {stats['map_full']}")
    measured = {"start": start_s, "rss": rss, "missing_1k": storm[0][1], "missing_20k": storm[1][1]}
    return {**times, **measured}, notes


def build(scratch: str) -> str:
    source, tool = os.path.join(scratch, "bench.c"), os.path.join(scratch, "bench")
    pathlib.Path(source).write_text(BENCH_C)
    subprocess.run(["gcc", "-O2", "-o", tool, source], check=True)
    return tool


def main() -> str:
    scratch = tempfile.mkdtemp(prefix="varmor-bench-", dir="/var/tmp")
    cgroup = os.path.join(CGROUP_ROOT, f"varmor-bench-{os.getpid()}")
    os.makedirs(cgroup)
    try:
        tool = build(scratch)
        base = workloads(cgroup, tool, scratch)
        with_tracer, notes = traced(cgroup, tool, scratch)
    finally:
        subprocess.run(["rm", "-rf", scratch], check=False)
        time.sleep(0.2)
        os.rmdir(cgroup)
    return report(base, with_tracer, notes)


def report(base: dict[str, float], t: dict[str, float], notes: list[str]) -> str:
    def ok(good: bool) -> str:
        return "met" if good else "**missed**"

    gp, tar = t["getppid"] / base["getppid"], t["tar"] / base["tar"]
    rows = [
        f"| getppid loop, 1e6 calls | {base['getppid']:.3f} s | {t['getppid']:.3f} s | ×{gp:.2f} | ≤ 1.9× "
        f"| {ok(gp <= 1.9)} |",
        f"| tar of {TAR_TREE} | {base['tar']:.3f} s | {t['tar']:.3f} s | ×{tar:.2f} | ≤ 1.05× "
        f"| {ok(tar <= 1.05)} |",
        f"| lost first occurrences at >100k opens/s (1k files) | – | {t['missing_1k']:.0f} | – | 0 | "
        f"{ok(t['missing_1k'] == 0)} |",
        f"| lost first occurrences at >100k opens/s (20k files) | – | {t['missing_20k']:.0f} | – | 0 | "
        f"{ok(t['missing_20k'] == 0)} |",
        f"| tracer start (spawn → target acknowledged) | – | {t['start']:.2f} s | – | < 1 s "
        f"| {ok(t['start'] < 1)} |",
        f"| tracer RSS | – | {t['rss']:.0f} MiB | – | ≤ 256 MiB | {ok(t['rss'] <= 256)} |",
    ]
    head = ["## Tracer overhead", "",
            f"Medians of {REPS} runs in a targeted cgroup-v2 child, untraced baseline first, same run. "
            f"Python {sys.version.split()[0]}, all probes attached.", "",
            "| measure | baseline | traced | ratio | target | |", "|---|---|---|---|---|---|"]
    return "\n".join(head + rows + ["", *[f"- {n}" for n in notes]]) + "\n"


if __name__ == "__main__":
    print(main())
