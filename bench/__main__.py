"""Benchmark runner: ``python -m bench [NAME ...]`` (``--rebuild`` only rewrites RESULTS.md).

Every ``bench/bench_<name>.py`` exposes ``main() -> str``, which measures (ratios against
a baseline taken in the same run) and returns a Markdown section. Each section is kept in
``bench/results/<name>.md``; ``bench/RESULTS.md`` is rebuilt from all of them, so running
one benchmark never erases another's numbers.
"""

from __future__ import annotations

import importlib
import pathlib
import platform
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def run_one(name: str) -> None:
    module = importlib.import_module(f"bench.bench_{name}")
    started = time.time()
    section: str = module.main()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    RESULTS.mkdir(exist_ok=True)
    text = f"{section.rstrip()}\n\n_Measured {stamp} on {platform.node() or 'this machine'}._\n"
    (RESULTS / f"{name}.md").write_text(text)
    print(text)


def rebuild() -> None:
    parts = ["# Benchmark results\n", "Written by `make bench` (`python -m bench`). Ratios are taken "
             "against a baseline measured in the same run.\n"]
    parts += [p.read_text() for p in sorted(RESULTS.glob("*.md"))]
    (HERE / "RESULTS.md").write_text("\n".join(parts))


def main(argv: list[str]) -> int:
    if argv == ["--rebuild"]:
        rebuild()
        return 0
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(available())}")
        return 2
    for name in names:
        run_one(name)
    rebuild()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
