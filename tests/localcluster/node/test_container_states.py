"""A container's reported state always carries what the API requires: a running state has its time."""

from __future__ import annotations

from localcluster.node.slots import Slot, container_status, terminated_state


def test_a_container_restarted_but_not_yet_seen_running_waits_instead_of_running_since_nothing() -> None:
    slot = Slot(spec={"name": "c1", "image": "debian:10"}, container_id="abc", waiting=None, running_since="")
    assert container_status(slot)["state"] == {"waiting": {"reason": "ContainerCreating"}}
    slot.running_since = "2026-12-02T00:00:00Z"
    assert container_status(slot)["state"] == {"running": {"startedAt": "2026-12-02T00:00:00Z"}}


def test_a_container_gone_before_it_was_seen_running_ends_at_the_time_it_was_missed() -> None:
    slot = Slot(spec={"name": "c1", "image": "debian:10"}, container_id="abc", waiting=None)
    state = terminated_state(slot, None, "2026-12-02T00:00:05Z")
    assert (state["startedAt"], state["finishedAt"], state["exitCode"]) == (
        "2026-12-02T00:00:05Z", "2026-12-02T00:00:05Z", 137)
