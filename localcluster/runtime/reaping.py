"""Removing a cluster's runtime when the cluster process is gone: ``force_cleanup`` and the reaper.

A cluster normally stops its pods through CRI and then containerd. If the cluster process dies
first (killed, crashed), containerd, its shims and the containers outlive it. ``force_cleanup``
removes them from the files under the cluster's ``containerd`` directory alone: containerd processes
started with its config, every container runc knows in its state directory (``runc delete
--force``, after noting their cgroups and network namespaces), the shims serving its socket, the
mounts under it, the pod cgroups and network namespaces, the bridge and the iptables chains.
``python -m localcluster.runtime.reaping DIR`` waits for its stdin to close (the cluster holds the
other end) and then runs ``force_cleanup``; ``down`` runs it when no cluster process is left.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from localcluster.runtime import networks, services

log = logging.getLogger(__name__)


def _pids_with(needle: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith((b"containerd", b"containerd-shim-runc-v2")) and needle in argv:
            found.append(int(entry.name))
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _containers(runc_root: Path) -> tuple[list[str], set[Path], set[str]]:
    """Container ids, their pod cgroup directories and network namespace paths, from runc's state."""
    ids, cgroups, netns = [], set(), set()
    for state in runc_root.glob("*/state.json"):
        try:
            data = json.loads(state.read_text())
        except (OSError, ValueError):
            continue
        ids.append(state.parent.name)
        cgroups |= {Path(p).parent for p in (data.get("cgroup_paths") or {}).values()}
        for ns in (data.get("config") or {}).get("namespaces") or []:
            if ns.get("type") == "NEWNET" and str(ns.get("path", "")).startswith("/var/run/netns/cni-"):
                netns.add(ns["path"])
    return ids, cgroups, netns


def _mounts_under(base: Path) -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split(" ")[4].encode().decode("unicode_escape")
        if point.startswith(f"{base}/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def force_cleanup(base: Path) -> None:
    """Remove everything a cluster's containerd at ``base`` left running or mounted."""
    _kill(_pids_with(str(base / "config.toml").encode()))
    runc_root = base / "runc" / "k8s.io"
    ids, cgroups, netns = _containers(runc_root)
    for cid in ids:
        subprocess.run(
            ["runc", "--root", str(runc_root), "delete", "--force", cid],
            capture_output=True,
            check=False,
            timeout=30,
        )
    _kill(_pids_with(str(base / "ctd.sock").encode()))
    for point in _mounts_under(base) + sorted(netns):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False, timeout=30)
    for ns_path in netns:
        with contextlib.suppress(OSError):
            os.unlink(ns_path)
    for cgroup in sorted(cgroups, key=lambda p: len(str(p)), reverse=True):
        with contextlib.suppress(OSError):
            cgroup.rmdir()
    conf = next((base / "net.d").glob("*.conflist"), None)
    if conf is not None:
        plugin = json.loads(conf.read_text())["plugins"][0]
        net = networks.Network(
            name="", bridge=plugin["bridge"], subnet=plugin["ipam"]["ranges"][0][0]["subnet"]
        )
        networks.delete_bridge(net)
        services.ServiceProxy(net.bridge.removeprefix("lc"), net.subnet).close()


def spawn_reaper(base: Path) -> subprocess.Popen[bytes]:
    """A process that cleans up after the caller when the caller dies (its stdin pipe closes)."""
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [sys.executable, "-m", "localcluster.runtime.reaping", str(base)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        start_new_session=True,
    )


def main(argv: list[str]) -> int:
    sys.stdin.buffer.read()  # returns when the cluster process closes the pipe or dies
    force_cleanup(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
