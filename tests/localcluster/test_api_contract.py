"""The adopted API probe passes against the project's server: one test per probe check."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from localcluster.cluster import ClusterThread, Settings
from localcluster.nodes import StatusOnlyNode
from tests.localcluster import api_probe

NAMES = [name for name, _ in api_probe.CHECKS]


@pytest.fixture(scope="module")
def probe_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    """A fresh server (short watch history, so the 410 check can expire an old resourceVersion)."""
    state: pathlib.Path = tmp_path_factory.mktemp("probe")
    thread = ClusterThread(Settings(state_dir=state, history=20, node_factory=StatusOnlyNode))
    url = thread.start()
    try:
        yield {name: (status, detail) for status, name, detail in api_probe.run_probe(url)}
    finally:
        thread.stop()


def test_the_probe_has_all_44_checks() -> None:
    assert len(NAMES) == 44


@pytest.mark.parametrize("name", NAMES)
def test_the_server_passes_the_probe_check(name: str, probe_results: dict[str, tuple[str, str]]) -> None:
    status, detail = probe_results[name]
    assert status == "OK", f"{status}: {detail}"


def test_a_check_that_only_reports_a_note_is_not_a_pass() -> None:
    assert api_probe._outcome(lambda: "gitVersion=v0") == ("NOTE", "gitVersion=v0")
    assert api_probe._outcome(lambda: None) == ("OK", "")
