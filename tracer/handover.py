"""The compiling child's maps handed over to the tracer: both ends of one socket.

The tracer starts ``python -m tracer.compiling --maps-to=FD OUT FLAG...`` (``in_child``), which
compiles the program with BCC, writes it to OUT and sends, over the socket FD, the descriptors
of the maps BCC created while compiling, named in the message. The tracer loads its programs
into these maps instead of creating the same maps again, and goes on as soon as they arrive,
without waiting for the child's exit (LLVM's pages take a while to go). No BCC here.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAX_MAPS = 64  # maps a child may hand over


def in_child(flags: list[str], path: str) -> tuple[dict[str, int], str]:
    """Compile in a short-lived child that writes the program to ``path`` and then hands over
    the maps BCC created for it: returns them (name -> descriptor, now this process's), or none
    and the child's error output."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, tempfile.TemporaryFile("w+") as errors:
        with theirs:
            child = subprocess.Popen(
                [sys.executable, "-m", "tracer.compiling", f"--maps-to={theirs.fileno()}", path, *flags],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                pass_fds=[theirs.fileno()])
        message, fds, _flags, _address = socket.recv_fds(ours, 1 << 16, MAX_MAPS)
        maps = received(message, fds)
        if maps:
            threading.Thread(target=child.wait, daemon=True).start()
            return maps, ""
        child.wait()
        errors.seek(0)
        return {}, errors.read()


def received(message: bytes, fds: list[int]) -> dict[str, int]:
    """The maps a child handed over: its message names the descriptors that came with it."""
    with contextlib.suppress(ValueError):
        names = json.loads(message) if message else []
        if isinstance(names, list) and len(names) == len(fds):
            for fd in fds:
                os.set_inheritable(fd, False)
            return {str(name): fd for name, fd in zip(names, fds, strict=True)}
    for fd in fds:
        os.close(fd)
    return {}


def hand_over(to: int, maps: dict[str, int]) -> None:
    """Send ``maps`` (name -> descriptor) to the tracer over the socket ``to``."""
    with socket.socket(fileno=to) as sock:
        socket.send_fds(sock, [json.dumps(list(maps)).encode()], list(maps.values()))
