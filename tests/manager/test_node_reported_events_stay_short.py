"""A burst of stored reports becomes one ``NodeReported`` Event on the policy, naming at most
``EVENT_NODES`` nodes and counting the rest."""

from __future__ import annotations

import pathlib
from typing import Any

from controller.reports import Report
from manager import wiring
from manager.settings import ManagerSettings


class Kube:
    """The cluster port, recording Events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def get_policy(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        return {"kind": kind, "metadata": {"name": name, "namespace": namespace}}

    def event(self, obj: dict[str, Any], kind: str, reason: str, message: str) -> None:
        self.events.append((kind, reason, message))


def reports(count: int) -> list[Report]:
    return [Report("varmor", "varmor-cluster-varmor-bench", f"node-{i:04d}", True, "") for i in range(count)]


def test_a_burst_of_reports_is_one_event_listing_twenty_nodes_and_counting_the_rest() -> None:
    kube = Kube()
    nowhere = pathlib.Path("/nonexistent")
    settings = ManagerSettings(None, "varmor", "me", "", nowhere, nowhere)
    wiring._reported(kube, settings, reports(50))  # type: ignore[arg-type]
    wiring._reported(kube, settings, reports(2))  # type: ignore[arg-type]
    [(kind, reason, many), (_, _, few)] = kube.events
    assert (kind, reason) == ("Normal", "NodeReported")
    assert many.startswith("Stored the recordings of node-0000, node-0001,") and many.endswith(
        "node-0019 and 30 more.")
    assert few == "Stored the recordings of node-0000, node-0001."
