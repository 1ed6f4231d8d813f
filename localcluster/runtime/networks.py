"""The pod network of one cluster: a CNI bridge with host-local addresses, reachable from the host.

Each cluster gets its own bridge (``lc<8 hex>``) and /24 subnet, chosen from its state directory and
skipping subnets this machine already routes, so clusters started side by side do not collide.
``conflist`` is the CNI configuration containerd's CRI plugin reads (pure); IP leases live under the
cluster's state directory, and ``delete_bridge`` removes the bridge when the cluster stops.
"""

from __future__ import annotations

import hashlib
import ipaddress
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Network:
    name: str
    bridge: str
    subnet: str

    @property
    def gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.subnet).hosts()))


def routed_subnets(route_table: str) -> set[ipaddress.IPv4Network]:
    """Destinations in a ``/proc/net/route`` text."""
    found = set()
    for line in route_table.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        dest, mask = (ipaddress.IPv4Address(bytes.fromhex(c)[::-1]) for c in (cols[1], cols[7]))
        if int(mask):
            found.add(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    return found


def choose(state_dir: Path, taken: set[ipaddress.IPv4Network]) -> Network:
    """A bridge name and a free 10.x.y.0/24 subnet derived from the state directory (pure)."""
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).digest()
    start = int.from_bytes(digest[:2], "big")
    for step in range(4096):
        n = (start + step) % 4096
        subnet = ipaddress.IPv4Network(f"10.{200 + n // 256 % 50}.{n % 256}.0/24")
        if not any(subnet.overlaps(t) for t in taken):
            tag = hashlib.sha256(f"{digest.hex()}{step}".encode()).hexdigest()[:8]
            return Network(name=f"localcluster-{tag}", bridge=f"lc{tag}", subnet=str(subnet))
    raise RuntimeError("no free 10.200-249.x.0/24 subnet for the pod network")


def allocate(state_dir: Path) -> Network:
    return choose(state_dir, routed_subnets(Path("/proc/net/route").read_text()))


def conflist(net: Network, ipam_dir: Path) -> dict[str, Any]:
    """The CNI network configuration list (pure)."""
    bridge = {
        "type": "bridge",
        "bridge": net.bridge,
        "isGateway": True,
        "ipMasq": False,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "dataDir": str(ipam_dir),
            "ranges": [[{"subnet": net.subnet}]],
            "routes": [{"dst": "0.0.0.0/0"}],
        },
    }
    return {"cniVersion": "1.0.0", "name": net.name, "plugins": [bridge]}


def delete_bridge(net: Network) -> None:
    subprocess.run(["ip", "link", "del", net.bridge], capture_output=True, check=False, timeout=10)
