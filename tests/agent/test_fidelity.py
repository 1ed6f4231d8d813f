"""The fidelity suite's quick subset (``bench.fidelity.QUICK``), run for real as root.

Each program is modeled with ``app.py model``, traced with ``strace -f`` for the ground truth
and replayed under its own seccomp profile. Replay, attribution and the AppArmor profile must all be
perfect: no denied syscall, nothing from outside the target, no request of the ground truth that the
profile would deny (judged by ``bench.apparmor_match``).
"""

from __future__ import annotations

import functools

import pytest

from bench.fidelity import PROGRAMS, QUICK, Result, check


@functools.cache
def _result(name: str) -> Result:
    return check(next(p for p in PROGRAMS if p.name == name))


@pytest.mark.parametrize("name", QUICK)
def test_the_program_replays_under_its_own_seccomp_profile_with_no_denied_syscall(name: str) -> None:
    result = _result(name)
    assert not result.errors, result.errors
    assert result.denied_syscalls == {}
    assert result.replay_status == result.traced_status == 0


@pytest.mark.parametrize("name", QUICK)
def test_nothing_from_outside_the_target_reaches_the_model(name: str) -> None:
    result = _result(name)
    assert result.leaked == []
    assert result.requests > 10  # the ground truth really was read


@pytest.mark.parametrize("name", QUICK)
def test_the_apparmor_profile_allows_every_request_of_the_ground_truth(name: str) -> None:
    assert _result(name).false_denials == []
