"""``make demo`` models the shipped workload, prints both profiles and verifies the second run."""

from __future__ import annotations

from tests.agent.modeling import app


def test_the_demo_prints_both_profiles_and_its_second_run_succeeds() -> None:
    done = app("demo-local", timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "profile demo" in done.stdout and '"defaultAction": "SCMP_ACT_ERRNO"' in done.stdout
    assert "capability sys_admin" in done.stdout
    assert "second run succeeded" in done.stdout
