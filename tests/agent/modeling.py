"""Run ``app.py model`` and ``app.py verify`` for real (root, BPF), as a user would."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[2]


def app(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def model(out: pathlib.Path, name: str, *cmd: str) -> tuple[str, dict[str, Any], str]:
    """Model CMD; returns (AppArmor text, seccomp profile, progress/summary output)."""
    done = app("model", "--name", name, "--out", str(out), "--", *cmd)
    assert done.returncode == 0, done.stderr
    seccomp = json.loads((out / f"{name}.seccomp.json").read_text())
    return (out / f"{name}.apparmor").read_text(), seccomp, done.stderr


def rules(apparmor: str) -> list[str]:
    lines = (line.strip() for line in apparmor.splitlines())
    return [line.rstrip(",") for line in lines if line and not line.startswith("#")]


def allowed(seccomp: dict[str, Any]) -> set[str]:
    return {n for group in seccomp["syscalls"] if group["action"] == "SCMP_ACT_ALLOW" for n in group["names"]}


def without(seccomp: dict[str, Any], *names: str) -> dict[str, Any]:
    groups = [{**g, "names": [n for n in g["names"] if n not in names]} for g in seccomp["syscalls"]]
    return {**seccomp, "syscalls": groups}
