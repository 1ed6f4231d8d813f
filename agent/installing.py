"""Profiles on the node: the seccomp and AppArmor profiles of every ArmorProfile (upstream §4.3).

The seccomp profile goes into the kubelet's seccomp root under the profile's name, written
atomically (a fresh temp file in the same directory, fsync, rename; never through a symlink) so
that a kubelet starting a container reads either the old file or the new one, whole. AppArmor
profiles are loaded with ``apparmor_parser`` where the kernel has AppArmor (complain mode while
modeling); where it has not, the profile is skipped with the message "AppArmor not enabled on
this node" and modeling goes on with the eBPF tracer. The texts are read under the seed's field
names (``content``, ``seccompContent``), which the manager writes, or upstream's (``appArmor``,
``seccomp``). Files of ArmorProfiles that are gone are
removed; only files named like our profiles (``varmor-*``) are ever touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

APPARMOR_ENABLED = pathlib.Path("/sys/module/apparmor/parameters/enabled")
OURS = "varmor-"


@dataclass(frozen=True)
class Outcome:
    """One profile's state on this node, as reported to the status service."""

    namespace: str
    profile: str
    ok: bool
    message: str


def apparmor_enabled(flag: pathlib.Path = APPARMOR_ENABLED) -> bool:
    try:
        return flag.read_text().strip().upper().startswith("Y")
    except OSError:
        return False


def write_atomically(directory: pathlib.Path, name: str, content: str) -> None:
    """Replace ``directory/name`` with ``content`` in one rename; 0644 like kubelet's inputs."""
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"unsafe profile file name {name!r}")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_file(path: pathlib.Path) -> bool:
    """Delete ``path``; False when it is already gone (another agent sharing the directory, as the
    local cluster's nodes share one seccomp root, removed it first)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _text(profile: Mapping[str, Any], seed_name: str, upstream_name: str) -> str:
    """A profile text under the seed's field name (``content``, ``seccompContent``) or upstream's."""
    return str(profile.get(seed_name) or profile.get(upstream_name) or "")


class ProfileInstaller:
    """Keeps the node's profile files equal to the ArmorProfiles it is given."""

    def __init__(self, seccomp_root: pathlib.Path, apparmor_dir: pathlib.Path,
                 apparmor: bool | None = None) -> None:
        self.seccomp_root = seccomp_root
        self.apparmor_dir = apparmor_dir
        self.apparmor = apparmor_enabled() if apparmor is None else apparmor

    def install(self, armor_profile: Mapping[str, Any]) -> Outcome:
        meta = armor_profile.get("metadata") or {}
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        profile = (armor_profile.get("spec") or {}).get("profile") or {}
        enforcer = str(profile.get("enforcer", ""))
        if profile.get("name") != name or not name.startswith(OURS):
            return Outcome(namespace, name, False, f"spec.profile.name must equal the name {name!r}")
        notes: list[str] = []
        try:
            if "Seccomp" in enforcer:
                self._seccomp(name, _text(profile, "seccompContent", "seccomp"))
            if "AppArmor" in enforcer:
                notes.append(self._apparmor(name, _text(profile, "content", "appArmor"), profile.get("mode")))
        except (OSError, ValueError, subprocess.CalledProcessError) as error:
            return Outcome(namespace, name, False, str(error))
        return Outcome(namespace, name, True, "; ".join(["Ready", *filter(None, notes)]))

    def _seccomp(self, name: str, content: str) -> None:
        try:
            json.loads(content)
        except ValueError as error:
            raise ValueError(f"the seccomp profile is not JSON: {error}") from None
        write_atomically(self.seccomp_root, name, content)

    def _apparmor(self, name: str, text: str, mode: Any) -> str:
        if not self.apparmor:
            return "AppArmor not enabled on this node"
        if "profile" not in text:
            raise ValueError("the AppArmor profile has no 'profile' statement")
        write_atomically(self.apparmor_dir, name, text)
        flags = ["-K", "-r"] + (["-C"] if mode == "complain" else [])
        subprocess.run(["apparmor_parser", *flags, str(self.apparmor_dir / name)], check=True,
                       capture_output=True, timeout=60)
        return ""

    def remove_all_but(self, keep: Iterable[str]) -> list[str]:
        """Delete our profile files whose ArmorProfile is gone; returns their names."""
        wanted = set(keep)
        removed = []
        for directory in (self.seccomp_root, self.apparmor_dir):
            if not directory.is_dir():
                continue
            for path in directory.iterdir():
                if path.name.startswith(OURS) and path.name not in wanted and path.is_file():
                    if directory == self.apparmor_dir and self.apparmor:
                        subprocess.run(["apparmor_parser", "-R", str(path)], capture_output=True, timeout=60)
                    if remove_file(path):
                        removed.append(path.name)
        return sorted(set(removed))
