"""One real tracer per test session (its first start on a machine compiles); tests need root and BPF."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tracer.harness import TracerProcess


@pytest.fixture(scope="session")
def tracer() -> Iterator[TracerProcess]:
    process = TracerProcess()
    yield process
    process.stop()
