"""The node's requirements, checked once at agent start (user guide: containerd ≥ 1.6 and BTF).

Each check returns ``None`` or one sentence saying what the node lacks and what to do; the agent
prints every failed sentence and exits with status 2, never a traceback. Paths are parameters so
that tests can point the checks at a directory that mimics a node.
"""

from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Callable
from dataclasses import dataclass

CONTAINERD_MINIMUM = (1, 6)
KERNEL_MINIMUM = (5, 15)  # bpf_task_pt_regs; bpf_get_current_task_btf is 5.11


@dataclass(frozen=True)
class NodePaths:
    btf: pathlib.Path = pathlib.Path("/sys/kernel/btf/vmlinux")
    cgroup_roots: tuple[pathlib.Path, ...] = (
        pathlib.Path("/sys/fs/cgroup/unified"), pathlib.Path("/sys/fs/cgroup"))
    modules: pathlib.Path = pathlib.Path("/lib/modules")
    merged_headers: pathlib.Path = pathlib.Path("/var/cache/varmor-py/kernel-headers")


def check_btf(paths: NodePaths) -> str | None:
    if paths.btf.is_file():
        return None
    return (f"BTF is not available ({paths.btf} is missing): the tracer reads kernel struct offsets "
            "from it; use a kernel built with CONFIG_DEBUG_INFO_BTF=y")


def cgroup2_root(paths: NodePaths) -> pathlib.Path | None:
    for root in paths.cgroup_roots:
        if (root / "cgroup.controllers").is_file():
            return root
    return None


def check_cgroup2(paths: NodePaths) -> str | None:
    if cgroup2_root(paths) is not None:
        return None
    where = " or ".join(str(r) for r in paths.cgroup_roots)
    return (f"cgroup v2 is not mounted (no cgroup.controllers under {where}): "
            "containers are followed by their cgroup")


def check_headers(paths: NodePaths, release: str | None = None) -> str | None:
    release = release or os.uname().release
    if (paths.modules / release / "build").is_dir() or paths.merged_headers.is_dir():
        return None
    return (f"no kernel headers for BCC: neither {paths.modules / release / 'build'} nor "
            f"{paths.merged_headers} exists; install linux-headers for this kernel or mount /usr/src")


def check_kernel(release: str | None = None) -> str | None:
    """The tracer reads the current task and its saved registers through BTF-typed helpers."""
    release = release or os.uname().release
    version = parse_version(release)
    if version is not None and version[:2] >= KERNEL_MINIMUM:
        return None
    return (f"kernel {release} is too old: the tracer needs Linux >= "
            f"{'.'.join(map(str, KERNEL_MINIMUM))} (BTF-typed BPF helpers)")


def parse_version(text: str) -> tuple[int, ...] | None:
    """``1.6.20~ds1`` or ``v1.7.0`` → (1, 6, 20); None when there is no version in it."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def check_containerd(version_of: Callable[[], str], socket: str) -> str | None:
    """``version_of`` asks containerd's CRI service for its version (``containerd://1.6.20``)."""
    try:
        answer = version_of()
    except Exception as error:  # any failure to reach it is the same finding for the user
        return f"containerd is not reachable on {socket}: {error}"
    version = parse_version(answer)
    if version is None or version[:2] < CONTAINERD_MINIMUM:
        return f"containerd {answer} on {socket} is too old: behaviour modeling needs containerd >= 1.6"
    return None


def failed_checks(paths: NodePaths, version_of: Callable[[], str], socket: str) -> list[str]:
    found = [check_kernel(), check_btf(paths), check_cgroup2(paths), check_headers(paths),
             check_containerd(version_of, socket)]
    return [message for message in found if message is not None]
