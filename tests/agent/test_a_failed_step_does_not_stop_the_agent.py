"""The agent's loop survives a step that fails (an API hiccup, a race on the node): it logs and retries."""

from __future__ import annotations

import logging
import pathlib
import threading
from typing import Any

import pytest

from agent import running


class FlakySources:
    """Fails the first read of the ArmorProfiles, then stops the agent on the second."""

    def __init__(self) -> None:
        self.calls = 0
        self.agent: running.Agent | None = None

    def armor_profiles(self) -> list[dict[str, Any]]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the API server went away")
        assert self.agent is not None
        self.agent.stop.set()
        return []

    def pods(self) -> list[dict[str, Any]]:
        return []


def test_an_exception_in_a_step_is_logged_and_the_next_step_runs(
        tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(running, "STEP_RETRY_SECONDS", 0.05)
    sources = FlakySources()
    agent = running.Agent(running.Settings(node="node-1", state_dir=tmp_path, modeling=False), sources,
                          installer=None, runtime=None, tracer_factory=None, status=None,  # type: ignore[arg-type]
                          events=None)  # type: ignore[arg-type]
    sources.agent = agent
    thread = threading.Thread(target=agent.run, daemon=True)
    with caplog.at_level(logging.ERROR, logger="agent.running"):
        thread.start()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert sources.calls == 2
    assert "Agent step failed" in caplog.text and "the API server went away" in caplog.text
