"""When a node delivers a window's report: at the window's end plus its own slot (pure functions).

Every agent's window ends at the same instant (the ArmorProfile's creation time plus its
duration), so without pacing 1,000 agents would open 1,000 TLS connections to the one status
service in the same second. Each agent instead waits a deterministic offset in ``[0, spread)``
taken from a hash of (node name, window uid): the same node keeps the same slot across restarts,
different nodes spread uniformly, and the cluster-wide arrival rate stays near ``rate`` reports per
second. ``spread = agents / rate``, capped at ``MAX_SPREAD_SECONDS`` so a huge cluster still reports
within a minute; a one- or two-node cluster waits a few milliseconds at most (the demo is not
slowed). ``rate <= 0`` turns pacing off.

``agents`` is what the node can see on the window's own ArmorProfile: the nodes that loaded its
profile (``status.loadedNodes``, which every agent reports on installing it, or the
``desiredNumberLoaded`` / ``currentNumberLoaded`` counts when they are larger).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

DEFAULT_REPORT_RATE = 100.0  # reports per second, cluster-wide
MAX_SPREAD_SECONDS = 60.0


def spread(agents: int, rate: float = DEFAULT_REPORT_RATE, cap: float = MAX_SPREAD_SECONDS) -> float:
    """Seconds over which ``agents`` reports are spread so that they arrive at about ``rate``/s."""
    if rate <= 0 or agents <= 1:
        return 0.0
    return min(cap, agents / rate)


def offset(node: str, window_uid: str, seconds: float) -> float:
    """This node's slot in ``[0, seconds)`` for this window: stable, and uniform over nodes."""
    if seconds <= 0:
        return 0.0
    digest = hashlib.sha256(f"{node}\0{window_uid}".encode()).digest()
    return seconds * int.from_bytes(digest[:8], "big") / 2 ** 64


def agents_of(armor_profile: Mapping[str, Any]) -> int:
    """How many agents the window's ArmorProfile says will report (0 when it says nothing)."""
    status = armor_profile.get("status")
    if not isinstance(status, Mapping):
        return 0
    loaded = status.get("loadedNodes")
    counts = [len(loaded) if isinstance(loaded, list) else 0]
    counts += [n for n in (status.get("desiredNumberLoaded"), status.get("currentNumberLoaded"))
               if isinstance(n, int) and not isinstance(n, bool)]
    return max(0, *counts)


def report_at(end: float, window_uid: str, agents: int, node: str,
              rate: float = DEFAULT_REPORT_RATE) -> float:
    """When ``node`` delivers the window ending at ``end``: its end plus the node's slot."""
    return end + offset(node, window_uid, spread(agents, rate))
