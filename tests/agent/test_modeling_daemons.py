"""``model --duration`` keeps recording a daemon after the command that launched it exits."""

from __future__ import annotations

import pathlib
import shutil

from tests.agent.modeling import app, rules


def test_a_daemon_outliving_its_launcher_is_recorded_until_the_duration_ends(tmp_path: pathlib.Path) -> None:
    directory = pathlib.Path("/srv/varmor-daemon-test")  # not globbed like /tmp, not random-looking
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    marker = directory / "marker"
    marker.write_text("x")
    try:
        done = app("model", "--name", "daemon", "--out", str(tmp_path), "--duration", "6", "--", "sh", "-c",
                   f"(sleep 1; cat {marker} > /dev/null; sleep 30) > /dev/null 2>&1 & exit 0")
    finally:
        shutil.rmtree(directory)
    assert done.returncode == 0, done.stderr
    found = rules((tmp_path / "daemon.apparmor").read_text())
    assert [r for r in found if r.endswith(f"{marker} r")], found
