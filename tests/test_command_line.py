"""app.py: sub-commands are dispatched, and everything after ``--`` is the command to run."""

from __future__ import annotations

import pytest

import app


def test_options_between_positionals_and_the_command_are_parsed() -> None:
    parser = app.build_parser(app._available())
    args = app.parse(parser, ["localcluster", "exec", "-n", "demo", "pod-1", "-c", "c1", "--",
                              "bash", "-c", "echo x > /root/c1"])
    assert (args.namespace, args.pod, args.container) == ("demo", "pod-1", "c1")
    assert args.cmd == ["--", "bash", "-c", "echo x > /root/c1"]


def test_a_command_after_dashes_is_refused_where_none_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    parser = app.build_parser(app._available())
    with pytest.raises(SystemExit) as stop:
        app.parse(parser, ["generate", "apparmor", "--model", "m.json", "--", "true"])
    assert stop.value.code == 2
    assert "takes no command after --" in capsys.readouterr().err


def test_every_documented_command_is_available() -> None:
    assert set(app._available()) == set(app.COMMANDS)
