"""Quality of the random-name classifier on path components that real software made.

The labelled set is ``data/real_path_components.tsv``: components collected by running real
programs on this machine twice and comparing (``data/collect_path_components.py``), labelled by
"would a second run produce a different name here?" (``data/LABELLING.md``). Its held-out third,
fixed by a hash before any tuning, must reach precision ≥ 0.99 and F1 ≥ 0.95 for "random". The
classifier is asked as the product asks it: the component in its full path.
"""

from __future__ import annotations

import ast
import pathlib
import zlib

from generator.classifier import generalize_path

DATA = pathlib.Path(__file__).parent / "data"
ROWS = [line.split("\t") for line in (DATA / "real_path_components.tsv").read_text("utf-8").splitlines()[1:]]


def _replaced(path: str) -> bool:
    return generalize_path(path).rsplit("/", 1)[1] == "*"


def _confusion(part: str) -> tuple[int, int, int, int]:
    rows = [(label, path) for p, label, _, path in ROWS if p == part]
    tp = sum(label == "random" and _replaced(path) for label, path in rows)
    fp = sum(label == "meaningful" and _replaced(path) for label, path in rows)
    fn = sum(label == "random" and not _replaced(path) for label, path in rows)
    return tp, fp, fn, len(rows) - tp - fp - fn


def test_the_set_holds_at_least_2000_labelled_components_from_many_real_sources() -> None:
    assert len(ROWS) >= 2000
    assert {label for _, label, _, _ in ROWS} == {"random", "meaningful"}
    assert sum(label == "random" for _, label, _, _ in ROWS) >= 300
    assert len({source for _, _, source, _ in ROWS}) >= 12
    assert all(path.startswith("/") and path.rsplit("/", 1)[1] for _, _, _, path in ROWS)


def test_the_held_out_part_is_the_third_fixed_by_a_hash_of_the_component() -> None:
    for part, _, _, path in ROWS:
        expected = "held-out" if zlib.crc32(path.rsplit("/", 1)[1].encode()) % 3 == 0 else "tuning"
        assert part == expected, path
    held_out = sum(part == "held-out" for part, _, _, _ in ROWS)
    assert 0.25 < held_out / len(ROWS) < 0.42  # a third of distinct names; repeated names move it


def test_the_set_is_not_made_from_the_classifier() -> None:
    tree = ast.parse((DATA / "collect_path_components.py").read_text("utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in {"generator", "bench", "tests"}}


def test_held_out_precision_is_at_least_0_99_and_f1_at_least_0_95_for_random() -> None:
    tp, fp, fn, _ = _confusion("held-out")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.99, (tp, fp, fn)
    assert 2 * precision * recall / (precision + recall) >= 0.95, (tp, fp, fn)
