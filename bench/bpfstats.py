"""BPF programs' own run time, from the kernel's run-time statistics (``BPF_ENABLE_STATS``).

While ``enabled()`` holds its file descriptor the kernel times every run of every BPF program
(two clock reads around it). The sums cover only the programs' own instructions and the memory
they touch: other processes on the machine do not enter them, unlike a wall-clock ratio. The
programs of one process are found through its file descriptors (``/proc/PID/fdinfo``:
``prog_id``), so another tracer on the machine is not counted.
"""

from __future__ import annotations

import contextlib
import ctypes as ct
import os
import pathlib
from collections.abc import Iterator

_bpf = ct.CDLL("libbpf.so.1", use_errno=True)
_bpf.bpf_enable_stats.argtypes = [ct.c_int]
_bpf.bpf_prog_get_fd_by_id.argtypes = [ct.c_uint32]
_bpf.bpf_obj_get_info_by_fd.argtypes = [ct.c_int, ct.c_void_p, ct.POINTER(ct.c_uint32)]
BPF_STATS_RUN_TIME = 0
INFO_SIZE = 232  # struct bpf_prog_info up to verified_insns
NAME, RUN_TIME_NS, RUN_CNT = 64, 192, 200  # offsets in struct bpf_prog_info
Times = dict[str, tuple[int, int]]  # program name -> (run-time ns, runs)


@contextlib.contextmanager
def enabled() -> Iterator[None]:
    fd = _bpf.bpf_enable_stats(BPF_STATS_RUN_TIME)
    if fd < 0:
        raise OSError(-fd, "BPF_ENABLE_STATS refused")
    try:
        yield
    finally:
        os.close(fd)


def program_ids(pid: int) -> set[int]:
    """The ids of the BPF programs process ``pid`` holds."""
    found = set()
    for info in pathlib.Path(f"/proc/{pid}/fdinfo").iterdir():
        with contextlib.suppress(OSError):
            for line in info.read_text().splitlines():
                if line.startswith("prog_id:"):
                    found.add(int(line.split()[1]))
    return found


def run_times(ids: set[int]) -> Times:
    """Program name (the kernel keeps 15 characters) -> (run-time ns, runs) so far, summed."""
    found: Times = {}
    for prog_id in ids:
        fd = _bpf.bpf_prog_get_fd_by_id(prog_id)
        if fd < 0:
            continue
        info, size = (ct.c_uint8 * INFO_SIZE)(), ct.c_uint32(INFO_SIZE)
        try:
            if _bpf.bpf_obj_get_info_by_fd(fd, info, ct.byref(size)) != 0:
                continue
        finally:
            os.close(fd)
        name = bytes(info[NAME:NAME + 16]).split(b"\0", 1)[0].decode()
        ns, runs = found.get(name, (0, 0))
        found[name] = (ns + ct.c_uint64.from_buffer(info, RUN_TIME_NS).value,
                       runs + ct.c_uint64.from_buffer(info, RUN_CNT).value)
    return found


def difference(after: Times, before: Times) -> Times:
    """What ran between two ``run_times`` (programs that did not run are left out)."""
    found = {}
    for name, (ns, runs) in after.items():
        ns0, runs0 = before.get(name, (0, 0))
        if runs > runs0:
            found[name] = (ns - ns0, runs - runs0)
    return found
