"""A pod's volume directories on the node: emptyDir (tmpfs for ``medium: Memory``) and API-backed files.

``PodVolumes`` owns ``<pod dir>/volumes``. ``sync`` recomputes every ``configMap``/``secret``/
``downwardAPI``/``projected`` volume from the current ``Sources`` (``volumes.volume_files``) and
rewrites a volume only when its files changed, atomically as kubelet's ``AtomicWriter`` does: the
files go to a fresh ``..<timestamp>`` directory, the ``..data`` symlink is swapped to it with one
rename, and each top-level name is a symlink through ``..data``, so a reader never sees half an
update. ServiceAccount tokens are cached and re-issued after 80 % of their lifetime, as kubelet's
token manager does. hostPath ``type`` is checked (``DirectoryOrCreate``/``FileOrCreate`` paths are
made) as kubelet does. ``close`` unmounts the tmpfs volumes.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

from localcluster.node import volumes
from localcluster.node.sources import Sources

log = logging.getLogger(__name__)
DATA = "..data"


def write_atomically(target: Path, files: volumes.Files) -> None:
    """Replace the files under ``target`` with ``files`` through one ``..data`` symlink swap."""
    target.mkdir(parents=True, exist_ok=True)
    stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{secrets.token_hex(4)}"
    fresh = target / stamp
    fresh.mkdir(mode=0o755)
    for rel, (data, mode) in files.items():
        path = fresh / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode & 0o777)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(path, mode & 0o777)
    old = os.readlink(target / DATA) if (target / DATA).is_symlink() else ""
    tmp = target / "..data_tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(stamp)
    os.replace(tmp, target / DATA)
    tops = {rel.split("/", 1)[0] for rel in files}
    for top in tops:
        if not (target / top).is_symlink():
            (target / top).symlink_to(f"{DATA}/{top}")
    for entry in target.iterdir():
        if not entry.name.startswith("..") and entry.name not in tops and entry.is_symlink():
            entry.unlink()
    if old:
        shutil.rmtree(target / old, ignore_errors=True)


_HOST_PATH_KINDS = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket file"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


def check_host_path(source: dict[str, Any]) -> str | None:
    """kubelet's hostPath ``type`` check, creating ``DirectoryOrCreate``/``FileOrCreate`` paths."""
    path, kind = Path(str(source.get("path", ""))), str(source.get("type") or "")
    if kind == "DirectoryOrCreate" and not path.exists():
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
    elif kind == "FileOrCreate" and not path.exists():
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.touch(mode=0o644)
    wanted = _HOST_PATH_KINDS.get(kind.removesuffix("OrCreate"))
    if wanted is None:
        return (
            None if kind in ("", "DirectoryOrCreate", "FileOrCreate") else f"invalid hostPath type {kind!r}"
        )
    try:
        mode = path.stat().st_mode
    except OSError:
        return f"hostPath type check failed: {path} is not {wanted[1]}"
    return None if wanted[0](mode) else f"hostPath type check failed: {path} is not {wanted[1]}"


class PodVolumes:
    """One pod's ``volumes`` directory."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.written: dict[str, volumes.Files] = {}
        self.tokens: dict[tuple[str, str, tuple[str, ...], int], tuple[str, float]] = {}
        self.tmpfs: list[Path] = []

    def prepare(self, pod: dict[str, Any]) -> None:
        """Make the emptyDir directories (a tmpfs for ``medium: Memory``)."""
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            if "emptyDir" not in vol:
                continue
            path = self.base / vol["name"]
            path.mkdir(parents=True, exist_ok=True)
            if (vol["emptyDir"] or {}).get("medium") == "Memory":
                size = (vol["emptyDir"] or {}).get("sizeLimit")
                options = ["-o", f"size={_bytes(str(size))}"] if size else []
                subprocess.run(["mount", "-t", "tmpfs", *options, "tmpfs", str(path)], check=True, timeout=30)
                self.tmpfs.append(path)
            os.chmod(path, 0o777)  # as kubelet: any user of the pod writes its emptyDir

    def sync(self, pod: dict[str, Any], sources: Sources) -> list[tuple[str, str]]:
        """Bring every API-backed volume up to date; (volume, reason) for those that cannot be set up."""
        failed = []
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            if "hostPath" in vol:
                problem = check_host_path(vol["hostPath"] or {})
                failed += [(vol["name"], problem)] if problem else []
            if not any(kind in vol for kind in volumes.API_KINDS):
                continue
            name = vol["name"]

            def token(path: str, audiences: list[str], seconds: int, vol_name: str = name) -> str:
                return self._token((vol_name, path, tuple(audiences), seconds), sources)

            try:
                files = volumes.volume_files(vol, pod, sources, token)
            except (volumes.VolumeError, LookupError, ValueError) as err:
                failed.append((name, str(err.args[0]) if err.args else str(err)))
                continue
            if self.written.get(name) != files:
                write_atomically(self.base / name, files)
                self.written[name] = files
        return failed

    def _token(self, key: tuple[str, str, tuple[str, ...], int], sources: Sources) -> str:
        cached = self.tokens.get(key)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        seconds = key[3]
        token, expires = sources.token(list(key[2]), seconds)
        lifetime = max(0.0, expires - time.time())
        self.tokens[key] = (token, time.time() + min(0.8 * lifetime, 24 * 3600))
        return token

    def close(self) -> None:
        for path in self.tmpfs:
            subprocess.run(["umount", "-l", str(path)], check=False, timeout=30, capture_output=True)
        self.tmpfs = []


def _bytes(quantity: str) -> int:
    """A Kubernetes memory quantity (``64Mi``, ``1G``, ``1000``) in bytes."""
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6, "G": 10**9}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(float(quantity))
