"""Benchmark of the random-path-component classifier: quality on the labelled set, and speed.

Quality: precision, recall and F1 of ``is_random_component`` on
``tests/generator/data/path_components.tsv``, on the whole set and on the held-out third (crc32 of
the component % 3 == 0) that the rules were never tuned on. Speed: ``generalize_path`` over a seeded
corpus of 120,000 realistic absolute paths, with a cold cache and then a warm one, against the
target of 100,000 paths/s; the baseline is splitting and re-joining the same paths, measured in the
same run.
"""

from __future__ import annotations

import pathlib
import random
import string
import time
import uuid
import zlib
from collections.abc import Callable

from generator.classifier import explain, generalize_path, is_random_component

DATA = pathlib.Path(__file__).resolve().parent.parent / "tests" / "generator" / "data" / "path_components.tsv"
TARGET = 100_000
CORPUS_SIZE = 120_000
KUBE = "bcdfghjklmnpqrstvwxz2456789"


def _labelled() -> list[tuple[str, str]]:
    lines = DATA.read_text(encoding="utf-8").splitlines()[1:]
    return [(c, label) for c, label in (line.split("\t") for line in lines)]


def _scores(rows: list[tuple[str, str]]) -> str:
    tp = sum(is_random_component(c) and label == "random" for c, label in rows)
    fp = sum(is_random_component(c) and label == "meaningful" for c, label in rows)
    fn = sum(not is_random_component(c) and label == "random" for c, label in rows)
    tn = len(rows) - tp - fp - fn
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    return f"| {len(rows)} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {tp} | {fp} | {fn} | {tn} |"


def _path_makers(rng: random.Random) -> list[Callable[[], str]]:
    """Templates for the kinds of paths a traced container touches, random parts drawn fresh."""
    def hexs(n: int) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    def kube(n: int) -> str:
        return "".join(rng.choice(KUBE) for _ in range(n))

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def pkg() -> str:
        return rng.choice(["requests", "urllib3", "numpy", "flask", "jinja2", "idna", "yaml"])

    def mod() -> str:
        return rng.choice(["__init__.py", "api.py", "utils.py", "core.py", "compat.py"])

    def alnum(n: int) -> str:
        return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))

    etc = ["/etc/passwd", "/etc/hosts", "/etc/resolv.conf", "/etc/ssl/certs/ca-certificates.crt",
           "/etc/nginx/nginx.conf", "/etc/localtime", "/dev/null", "/dev/pts/1"]
    return [
        lambda: f"/usr/local/lib/python3.11/site-packages/{pkg()}/{mod()}",
        lambda: f"/app/.venv/lib/python3.11/site-packages/{pkg()}/__pycache__/core.cpython-311.pyc",
        lambda: rng.choice(etc),
        lambda: f"/var/lib/kubelet/pods/{uid()}/volumes/kubernetes.io~projected/"
                f"kube-api-access-{kube(5)}/token",
        lambda: f"/var/run/secrets/kubernetes.io/serviceaccount/..{rng.randrange(2020, 2030)}_01_02_03_04_05."
                f"{rng.randrange(10**8, 10**9)}/ca.crt",
        lambda: f"/var/log/pods/default_web-{kube(9)}-{kube(5)}_{uid()}/nginx/0.log",
        lambda: f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{hexs(64)}/rootfs/etc/os-release",
        lambda: f"/app/static/js/main.{hexs(20)}.js",
        lambda: f"/home/app/.cache/pip/http-v2/{hexs(1)}/{hexs(1)}/{hexs(40)}.body",
        lambda: f"/var/tmp/tmp.{alnum(10)}/data",
        lambda: f"/usr/share/zoneinfo/{rng.choice(['Asia/Shanghai', 'Europe/Berlin', 'UTC'])}",
        lambda: f"/usr/share/locale/{rng.choice(['en_US.UTF-8', 'zh_CN', 'de_DE'])}/LC_MESSAGES/libc.mo",
        lambda: f"/sys/fs/cgroup/kubepods.slice/cri-containerd-{hexs(64)}.scope/memory.max",
        lambda: f"/srv/uploads/{rng.randrange(1000, 10**7)}/thumbnail.png",
    ]


def corpus(size: int = CORPUS_SIZE, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    makers = _path_makers(rng)
    return [rng.choice(makers)() for _ in range(size)]


def _rate(paths: list[str], fn: Callable[[str], str]) -> float:
    started = time.perf_counter()
    for path in paths:
        fn(path)
    return len(paths) / (time.perf_counter() - started)


def _speed_table(paths: list[str]) -> str:
    baseline = _rate(paths, lambda p: "/".join(p.split("/")))
    explain.cache_clear()
    cold = _rate(paths, generalize_path)
    warm = _rate(paths, generalize_path)
    rows = ["| pass | paths/s | vs split+join baseline | target ≥ 100,000/s |", "|---|---:|---:|---|",
            f"| split+join only (baseline) | {baseline:,.0f} | 1.00 | |"]
    for name, rate in (("cold cache", cold), ("warm cache", warm)):
        verdict = "met" if rate >= TARGET else "**missed**"
        rows.append(f"| `generalize_path`, {name} | {rate:,.0f} | {rate / baseline:.2f} | {verdict} |")
    return "\n".join(rows)


def main() -> str:
    rows = _labelled()
    held_out = [(c, label) for c, label in rows if zlib.crc32(c.encode()) % 3 == 0]
    n_random = sum(label == "random" for _, label in rows)
    misses = sorted(c for c, label in rows if is_random_component(c) != (label == "random"))
    paths = corpus()
    unique = len({part for p in paths for part in p.split("/")})
    return "\n".join([
        "## Path-component classifier (`generator/classifier.py`)", "",
        f"Labelled set: {len(rows)} components ({n_random} random, {len(rows) - n_random} meaningful), "
        "`tests/generator/data/path_components.tsv`.", "",
        "| set | rows | precision | recall | F1 | TP | FP | FN | TN |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| all {_scores(rows)}", f"| held-out third {_scores(held_out)}", "",
        "Misclassified: " + (", ".join(f"`{c}` ({explain(c)})" for c in misses) or "none") + ".", "",
        f"Speed: {len(paths):,} generated absolute paths ({unique:,} distinct components), "
        "one pass with a cleared cache, then a second pass.", "",
        _speed_table(paths),
    ])
