"""Each node delivers a window's report at the window's end plus its own slot (``agent.pacing``):
stable across restarts, uniform over nodes, bounded by the cluster's size over the report rate
(at most a minute), about nothing for a small cluster; the agent waits for its slot."""

from __future__ import annotations

import pathlib
import statistics
from collections.abc import Mapping
from typing import Any

from agent import pacing, running
from agent.installing import Outcome
from agent.windows import Window, plan, window_of

T0 = 1_800_000_000.0
NODES = [f"node-{i:04d}" for i in range(1000)]


def test_the_spread_is_the_cluster_over_the_rate_capped_at_a_minute_and_off_at_rate_zero() -> None:
    assert pacing.spread(1000, 100.0) == 10.0
    assert pacing.spread(100_000, 100.0) == pacing.MAX_SPREAD_SECONDS == 60.0
    assert pacing.spread(1000, 0.0) == 0.0
    assert pacing.spread(1, 100.0) == pacing.spread(0, 100.0) == 0.0


def test_a_small_cluster_reports_within_milliseconds_of_the_windows_end() -> None:
    assert max(pacing.offset(n, "uid-1", pacing.spread(2)) for n in ("node-1", "node-2")) < 0.02


def test_a_nodes_slot_is_stable_and_differs_per_window() -> None:
    first = pacing.offset("node-0007", "uid-1", 10.0)
    assert pacing.offset("node-0007", "uid-1", 10.0) == first  # a restarted agent keeps its slot
    assert pacing.offset("node-0007", "uid-2", 10.0) != first


def test_slots_of_a_thousand_nodes_are_bounded_and_uniform() -> None:
    slots = [pacing.offset(node, "uid-1", 10.0) for node in NODES]
    assert all(0.0 <= s < 10.0 for s in slots)
    per_second = [sum(1 for s in slots if k <= s < k + 1) for k in range(10)]
    assert min(per_second) >= 70 and max(per_second) <= 130  # ~100 a second, no burst
    assert abs(statistics.mean(slots) - 5.0) < 0.3


def test_the_armor_profile_tells_how_many_agents_will_report() -> None:
    loaded = {"status": {"loadedNodes": NODES[:40], "currentNumberLoaded": 40}}
    assert pacing.agents_of(loaded) == 40
    assert pacing.agents_of({"status": {"desiredNumberLoaded": 900, "loadedNodes": NODES[:3]}}) == 900
    assert pacing.agents_of({}) == pacing.agents_of({"status": {"loadedNodes": "x"}}) == 0


def test_the_plan_makes_an_ended_window_due_at_the_nodes_slot_and_wakes_for_it() -> None:
    window = Window("varmor", "p", "uid-1", "AppArmorSeccomp", T0, 1, agents=1000)
    slot = pacing.report_at(window.end, window.uid, 1000, "node-0001")
    assert window.end < slot < window.end + 10

    def at(w: Window) -> float:
        return pacing.report_at(w.end, w.uid, w.agents, "node-0001")

    before = plan([window], [], slot - 0.001, set(), at)
    assert before.due == () and before.next_change == slot
    assert plan([window], [], slot, set(), at).due == (window,)


def armor_profile(agents: int) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "varmor", "uid": "uid-1",
                         "creationTimestamp": "2027-01-15T08:00:00Z"},
            "spec": {"profile": {"name": "p", "enforcer": "Seccomp", "mode": "complain"},
                     "behaviorModeling": {"enable": True, "duration": 1}},
            "status": {"loadedNodes": NODES[:agents], "currentNumberLoaded": agents}}


class Sources:
    def __init__(self, agents: int) -> None:
        self.profile = armor_profile(agents)

    def armor_profiles(self) -> list[dict[str, Any]]:
        return [self.profile]

    def pods(self) -> list[dict[str, Any]]:
        return []


class Installer:
    def install(self, armor_profile: Mapping[str, Any]) -> Outcome:
        return Outcome("varmor", "p", True, "")

    def remove_all_but(self, keep: Any) -> list[str]:
        return []


class Runtime:
    def cgroup_of(self, container_id: str) -> str | None:
        return None


class StatusPort:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def post(self, path: str, body: dict[str, Any]) -> None:
        self.posts.append((path, dict(body)))


def test_the_agent_delivers_a_due_window_at_its_slot_not_before(tmp_path: pathlib.Path) -> None:
    window = window_of(armor_profile(1000))
    assert window is not None and window.agents == 1000
    slot = pacing.report_at(window.end, window.uid, 1000, "node-0001", rate=100.0)
    now = [slot - 0.5]
    status = StatusPort()
    agent = running.Agent(running.Settings(node="node-0001", state_dir=tmp_path, report_rate=100.0),
                          Sources(1000), Installer(), Runtime(), tracer_factory=None,  # type: ignore[arg-type]
                          status=status, events=None, clock=lambda: now[0])  # type: ignore[arg-type]
    assert agent.step() == slot  # the loop wakes at the slot
    assert "uid-1" not in agent.deliveries
    now[0] = slot
    agent.step()
    agent.deliveries["uid-1"].join(timeout=10)
    assert [path for path, _body in status.posts if path == "/apis/v1/data"] == ["/apis/v1/data"]
    assert (tmp_path / "reported" / "uid-1").exists()
