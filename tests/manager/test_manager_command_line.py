"""``python app.py manager`` refuses bad settings with one ``error:`` line and exit 2, before any work."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from manager.settings import go_bool, go_duration

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("flags", "needle"), [
    (["--webhookMatchLabel", "no-equals-sign"], "--webhookMatchLabel"),
    (["--statusUpdateCycle", "2 hours"], "not a duration"),
    (["--lease-duration", "3", "--renew-deadline", "3"], "--lease-duration"),
    (["--kubeconfig", "/nonexistent/kubeconfig"], "/nonexistent/kubeconfig"),
])
def test_bad_settings_are_one_error_line_and_exit_2(
    tmp_path: pathlib.Path, flags: list[str], needle: str
) -> None:
    result = subprocess.run([sys.executable, "app.py", "manager", "--cert-dir", str(tmp_path), *flags],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and needle in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_upstream_flag_values_parse_like_go() -> None:
    assert go_duration("2h") == 7200 and go_duration("1h30m") == 5400 and go_duration("90s") == 90
    assert go_bool("false") is False and go_bool("True") is True
    with pytest.raises(ValueError):
        go_duration("5")
    with pytest.raises(ValueError):
        go_bool("maybe")
