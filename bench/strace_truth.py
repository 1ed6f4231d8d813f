"""Ground truth for the fidelity suite: what a program really did, from ``strace -f -y``.

``trace(cmd, cwd)`` runs the program under strace and ``parse`` turns the log into the
requests AppArmor would mediate: file accesses with their permission letters (open flags →
``r``/``w``/``a``, ``O_CREAT``/unlink/mkdir/rmdir/rename/symlink/truncate/chmod/mknod → ``w``,
rename source ``rw``, ``link`` → ``l``, ``flock`` → ``k``, ``mmap`` of a file with
``PROT_EXEC`` → ``m``), executions (``x`` on the resolved binary) and the capabilities that
successful calls of a few kinds need as root (``unshare``/``mount`` → ``sys_admin``,
``chroot`` → ``sys_chroot``, ``chown`` to another user → ``chown``). Only successful calls
count. Paths are absolute and resolved as the kernel resolves them: opens use strace's
``-y`` annotation of the returned fd, other calls join the name to the directory fd's
annotation or the process's tracked working directory; directories get a trailing ``/``.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

TRACED = ("open,openat,openat2,creat,execve,execveat,mmap,unlink,unlinkat,rmdir,mkdir,mkdirat,rename,"
          "renameat,renameat2,link,linkat,symlink,symlinkat,chdir,fchdir,truncate,chmod,fchmodat,mknod,"
          "mknodat,flock,clone,clone3,fork,vfork,unshare,mount,chroot,chown,lchown,fchownat")
_LINE = re.compile(r"^(\d+) +(\w+)\((.*)\) += (.*)$", re.DOTALL)
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_FD = re.compile(r"(?:^|, )(-?\d+|AT_FDCWD)(?:<((?:[^>\\]|\\.)*)>)?(?=,|$)")
_RESULT_FD = re.compile(r"^(\d+)<((?:[^>\\]|\\.)*)>")


@dataclass
class Truth:
    files: dict[str, set[str]] = field(default_factory=dict)  # path -> permission letters
    execs: set[str] = field(default_factory=set)
    capabilities: set[str] = field(default_factory=set)

    def add(self, path: str, letters: str) -> None:
        self.files.setdefault(path, set()).update(letters)


def _unescape(text: str) -> str:
    data = text.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")
    return data.decode("utf-8", "surrogateescape")


def trace(cmd: Sequence[str], cwd: str, log: str, timeout: float = 120.0) -> int:
    """Run CMD under ``strace -f``, writing the log to ``log``; returns CMD's exit status."""
    argv = ["strace", "-f", "-qq", "-y", "-s", "4096", "-e", f"trace={TRACED}", "-o", log, "--", *cmd]
    return subprocess.run(argv, cwd=cwd, timeout=timeout, check=False, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, env={**os.environ, "PWD": cwd}).returncode


def joined(lines: Iterable[str]) -> list[str]:
    """Log lines with every ``<unfinished ...>`` call joined to its ``resumed`` part."""
    pending: dict[str, str] = {}
    out = []
    for line in lines:
        line = line.rstrip("\n")
        pid, _, rest = line.partition(" ")
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
        elif rest.startswith("<... ") and pid in pending:
            out.append(f"{pid} {pending.pop(pid)}{rest.split('resumed>', 1)[1]}")
        else:
            out.append(line)
    return out


def _resolve(base: str, name: str, pid: str, directory: bool = False) -> str:
    path = name if name.startswith("/") else os.path.join(base, name)
    path = os.path.normpath(path)
    if path.startswith("/proc/"):
        return path
    parent, leaf = os.path.split(path)
    path = os.path.join(os.path.realpath(parent), leaf) if leaf else os.path.realpath(parent)
    return path.rstrip("/") + "/" if directory or (os.path.isdir(path) and not os.path.islink(path)) else path


class _Parser:
    def __init__(self, cwd: str) -> None:
        self.truth = Truth()
        self.start = cwd
        self.cwd: dict[str, str] = {}
        self.fds: dict[str, dict[str, str]] = {}  # pid -> fd -> path, from opens

    def base(self, pid: str, args: str) -> str:
        match = _FD.search(args)
        if match and match.group(2) and not args.startswith('"'):
            return _unescape(match.group(2))
        return self.cwd.get(pid, self.start)

    def line(self, pid: str, call: str, args: str, result: str) -> None:
        if result.startswith("-1") or result.startswith("?"):
            return
        names = [_unescape(s) for s in _STRING.findall(args)]
        handler = getattr(self, "_" + call, None)
        if handler is not None:
            handler(pid, args, names, result)

    def _opened(self, result: str) -> str | None:
        match = _RESULT_FD.match(result)
        return _unescape(match.group(2)) if match else None

    def _open(self, pid: str, args: str, names: list[str], result: str, flags: str = "") -> None:
        path = self._opened(result)
        if path is None or path.startswith(("pipe:", "socket:", "anon_inode:")):
            return
        flags = flags or args.rsplit(",", 2)[-2 if args.count(",") >= 2 else -1]
        letters = "r" if "O_RDONLY" in flags or "O_RDWR" in flags else ""
        if "O_WRONLY" in flags or "O_RDWR" in flags:
            letters += "a" if "O_APPEND" in flags else "w"
        if "O_CREAT" in flags or "O_TRUNC" in flags:
            letters += "w"
        directory = "O_DIRECTORY" in flags or os.path.isdir(path)
        path = path.rstrip("/") + "/" if directory else path
        self.fds.setdefault(pid, {})[result.split("<", 1)[0]] = path
        self.truth.add(path, letters or "r")

    def _openat(self, pid: str, args: str, names: list[str], result: str) -> None:
        self._open(pid, args, names, result, args.split(", ")[2] if args.count(", ") >= 2 else "")

    def _openat2(self, pid: str, args: str, names: list[str], result: str) -> None:
        self._open(pid, args, names, result, args)

    def _creat(self, pid: str, args: str, names: list[str], result: str) -> None:
        self._open(pid, args, names, result, "O_WRONLY|O_CREAT")

    def _execve(self, pid: str, args: str, names: list[str], result: str) -> None:
        if names:
            self.truth.execs.add(os.path.realpath(os.path.join(self.cwd.get(pid, self.start), names[0])))

    def _mmap(self, pid: str, args: str, names: list[str], result: str) -> None:
        match = re.search(r"PROT_[A-Z|_]*EXEC[A-Z|_]*, [A-Z_|]+, \d+<((?:[^>\\]|\\.)*)>", args)
        if match:
            self.truth.add(_unescape(match.group(1)), "m")

    def _named(self, pid: str, args: str, name: str, letters: str, directory: bool = False) -> None:
        magic = re.fullmatch(r"/proc/(?:self|thread-self|\d+)/fd/(\d+)", name)
        if magic and magic.group(1) in self.fds.get(pid, {}):  # the kernel follows the magic link
            self.truth.add(self.fds[pid][magic.group(1)], letters)
            return
        self.truth.add(_resolve(self.base(pid, args), name, pid, directory), letters)

    def _unlink(self, pid: str, args: str, names: list[str], result: str) -> None:
        self._named(pid, args, names[0], "w", "AT_REMOVEDIR" in args)

    _unlinkat = _unlink
    _truncate = _unlink
    _chmod = _unlink
    _fchmodat = _unlink
    _mknod = _unlink
    _mknodat = _unlink

    def _rmdir(self, pid: str, args: str, names: list[str], result: str) -> None:
        self._named(pid, args, names[0], "w", True)

    _mkdir = _rmdir
    _mkdirat = _rmdir

    def _rename(self, pid: str, args: str, names: list[str], result: str) -> None:
        if len(names) == 2:
            parts = args.split(", ")
            old_base = self.base(pid, parts[0] if parts[0][0] != '"' else "")
            new_index = next((i for i, p in enumerate(parts[1:], 1) if p.startswith('"')), 1)
            new_base = self.base(pid, parts[new_index - 1] if new_index > 1 else "")
            self.truth.add(_resolve(old_base, names[0], pid), "rw")
            self.truth.add(_resolve(new_base, names[1], pid), "w")

    _renameat = _rename
    _renameat2 = _rename

    def _link(self, pid: str, args: str, names: list[str], result: str) -> None:
        if len(names) == 2:
            self.truth.add(_resolve(self.cwd.get(pid, self.start), names[1], pid), "l")

    _linkat = _link

    def _symlink(self, pid: str, args: str, names: list[str], result: str) -> None:
        if len(names) == 2:
            self.truth.add(_resolve(self.cwd.get(pid, self.start), names[1], pid), "w")

    _symlinkat = _symlink

    def _chdir(self, pid: str, args: str, names: list[str], result: str) -> None:
        if names:
            self.cwd[pid] = os.path.normpath(os.path.join(self.cwd.get(pid, self.start), names[0]))

    def _fchdir(self, pid: str, args: str, names: list[str], result: str) -> None:
        self.cwd[pid] = self.base(pid, args)

    def _clone(self, pid: str, args: str, names: list[str], result: str) -> None:
        child = result.split()[0]
        if child.isdigit():
            self.cwd[child] = self.cwd.get(pid, self.start)

    _clone3 = _clone
    _fork = _clone
    _vfork = _clone

    def _flock(self, pid: str, args: str, names: list[str], result: str) -> None:
        match = _FD.search(args)
        if match and match.group(2) and "LOCK_UN" not in args:
            self.truth.add(_unescape(match.group(2)), "k")

    def _unshare(self, pid: str, args: str, names: list[str], result: str) -> None:
        self.truth.capabilities.add("sys_admin")

    _mount = _unshare

    def _chroot(self, pid: str, args: str, names: list[str], result: str) -> None:
        self.truth.capabilities.add("sys_chroot")

    def _chown(self, pid: str, args: str, names: list[str], result: str) -> None:
        numbers = re.findall(r", (-?\d+), (-?\d+)", args)
        if numbers and numbers[-1][0] not in ("-1", "0"):
            self.truth.capabilities.add("chown")
        if names:
            self._named(pid, args, names[0], "w")

    _lchown = _chown
    _fchownat = _chown


def parse(lines: Iterable[str], cwd: str) -> Truth:
    """The ground truth of a ``strace -f -y`` log of a program started in ``cwd``."""
    parser = _Parser(cwd)
    for line in joined(lines):
        match = _LINE.match(line)
        if match:
            parser.line(*match.groups())
    return parser.truth
