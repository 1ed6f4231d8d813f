"""Fixtures for the node simulator tests: a real node on this machine (root, cgroup v2).

Every test gets its own ``NodeSimulator`` with a fresh state and seccomp directory, shut down
afterwards. ``support`` holds the helpers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcluster.node import NodeSimulator


@pytest.fixture
def seccomp_dir(tmp_path: Path) -> Path:
    path = tmp_path / "seccomp"
    path.mkdir()
    return path


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def node(state_dir: Path, seccomp_dir: Path) -> Iterator[NodeSimulator]:
    assert os.geteuid() == 0, "the node simulator tests run as root (namespaces, cgroups), as CI does"
    simulator = NodeSimulator(f"node-{uuid.uuid4().hex[:6]}", state_dir, seccomp_dir)
    yield simulator
    simulator.shutdown(grace_seconds=0.2)
