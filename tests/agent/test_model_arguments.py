"""``app.py model`` and ``app.py verify`` check every argument before any work starts."""

from __future__ import annotations

import pathlib
import time

import pytest

from tests.agent.modeling import app


def _cases(tmp: pathlib.Path) -> list[list[str]]:
    afile = tmp / "afile"
    afile.write_text("x")
    return [
        ["model", "--name", "bad name", "--", "true"],
        ["model", "--name", "UPPER", "--", "true"],
        ["model", "--duration", "-1", "--", "true"],
        ["model", "--duration", "nan", "--", "true"],
        ["model", "--out", str(afile), "--", "true"],
        ["model", "--out", str(tmp / "missing" / "deeper"), "--", "true"],
        ["model", "--pid", "999999999"],
        ["model", "--cgroup", str(tmp)],
        ["model"],
        ["model", "--pid", "1", "--", "true"],
        ["model", "--", "no-such-command-varmor"],
        ["verify", "--seccomp", str(tmp / "missing.json"), "--", "true"],
        ["verify", "--seccomp", str(afile), "--", "true"],
        ["verify", "--seccomp", str(afile)],
        ["verify", "--timeout", "-3", "--seccomp", str(afile), "--", "true"],
    ]


@pytest.mark.parametrize("index", range(15))
def test_a_bad_argument_is_one_error_line_and_exit_2_before_any_work(tmp_path: pathlib.Path,
                                                                     index: int) -> None:
    argv = _cases(tmp_path)[index]
    started = time.monotonic()
    done = app(*argv, timeout=60)
    assert done.returncode == 2, (argv, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, done.stderr)
    assert time.monotonic() - started < 10  # no tracer was started, no command was run
    assert list(tmp_path.glob("*.model.json")) == []


def test_an_empty_seccomp_file_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty.seccomp.json"
    empty.write_text("\n")
    done = app("verify", "--seccomp", str(empty), "--", "true")
    assert done.returncode == 2
    expected = f"error: {empty} is empty: no seccomp profile (the model recorded no syscall)"
    assert done.stderr.strip() == expected
