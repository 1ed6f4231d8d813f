"""Benchmark: merging 1,000 node reports of 1,000 files each, then rendering both profiles.

Reports overlap the way replicas do (most paths shared, some per node), carry syscalls,
executions and coverage. The target is < 2 s for merge + render on this machine. The
baseline in the same run is a plain dict union of the same paths, the floor any merge pays.
"""

from __future__ import annotations

import random
import time

from generator.merge import merge
from generator.models import AppArmorResult, BehaviorModel, Coverage, FileRule
from generator.render import render_apparmor, render_seccomp

NODES = 1_000
FILES = 1_000
SHARED = 800  # files every replica touches; the rest are node-specific


def reports(seed: int = 7) -> list[BehaviorModel]:
    rng = random.Random(seed)
    shared = [f"/usr/share/app/{i}/data.bin" for i in range(SHARED)]
    syscalls = tuple(f"sys{i}" for i in range(120))
    out = []
    for node in range(NODES):
        own = [f"/var/lib/app/node{node}/f{j}" for j in range(FILES - SHARED)]
        files = tuple(FileRule(p, rng.choice((("r",), ("r", "w"), ("m", "r"))), owner=rng.random() < 0.9)
                      for p in shared + own)
        out.append(BehaviorModel(
            apparmor=AppArmorResult(profiles=("varmor-bench",), executions=("/usr/bin/app",), files=files,
                                    capabilities=("net_bind_service",)),
            syscalls=syscalls[: 60 + node % 60],
            coverage=(Coverage(node=f"node-{node}", lost_events=node % 3, sources=("ebpf",)),),
        ))
    return out


def _best(func: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> str:
    data = reports()

    def baseline() -> None:
        union: dict[str, set[str]] = {}
        for model in data:
            for f in model.apparmor.files:
                union.setdefault(f.path, set()).update(f.permissions)

    merged: list[BehaviorModel] = []

    def merge_only() -> None:
        merged[:] = [merge(*data)]

    def merge_and_render() -> None:
        model = merge(*data)
        render_apparmor(model)
        render_seccomp(model)

    base, merge_time, total = _best(baseline), _best(merge_only), _best(merge_and_render)
    files = len(merged[0].apparmor.files)
    verdict = "met" if total < 2.0 else "MISSED"
    return "\n".join([
        "## Generator: merge 1,000 node reports × 1,000 files, render both profiles",
        "",
        f"{NODES} reports, {FILES} files each ({SHARED} shared), merged model: {files} file rules. "
        "Best of 3.",
        "",
        "| step | seconds | × plain dict union |",
        "|---|---|---|",
        f"| baseline: plain dict union of the paths | {base:.3f} | 1.00 |",
        f"| merge | {merge_time:.3f} | {merge_time / base:.2f} |",
        f"| merge + render AppArmor + render seccomp | {total:.3f} | {total / base:.2f} |",
        "",
        f"Target < 2 s for merge + render: **{verdict}** ({total:.2f} s).",
    ])


if __name__ == "__main__":
    print(main())
