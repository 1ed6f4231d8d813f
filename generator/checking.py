"""Checks a rendered AppArmor profile with ``apparmor_parser`` in parse-only mode.

The one place the generator runs a process: ``apparmor_parser -Q -K`` compiles the
profile without loading it (this kernel has no AppArmor). When the parser is absent the
check reports that it was skipped rather than pretending it passed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass

NOISE = ("Cache read/write disabled",)


@dataclass(frozen=True)
class ParserCheck:
    checked: bool
    ok: bool
    message: str = ""


def check_apparmor(profile: str, parser: str = "apparmor_parser") -> ParserCheck:
    binary = shutil.which(parser)
    if binary is None:
        return ParserCheck(checked=False, ok=True, message=f"{parser} not found; profile not checked")
    with tempfile.NamedTemporaryFile("wb", suffix=".apparmor") as handle:
        handle.write(profile.encode("utf-8", "surrogateescape"))
        handle.flush()
        result = subprocess.run(
            [binary, "-Q", "-K", handle.name], capture_output=True, text=True, timeout=60, check=False
        )
    lines = [line for line in result.stderr.splitlines() if line and not line.startswith(NOISE)]
    return ParserCheck(checked=True, ok=result.returncode == 0, message="\n".join(lines))
