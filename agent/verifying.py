"""``app.py verify``: run a command under a generated seccomp profile, or ask what it would deny.

Without ``--what-if`` the OCI/Docker seccomp JSON is compiled with libseccomp and CMD runs
under it (``agent.confine``): every call the profile denies is answered with the profile's
errno, exactly as the profile would, and counted by name. The verdict is a success only when
CMD exits 0 within ``--timeout`` seconds **and** no syscall was denied; otherwise the denied
syscalls are listed (``denied: NAME xCOUNT``) and the exit status says why (124: timed out).
With ``--what-if`` CMD runs traced but unconfined (``agent.localmode``) and the syscalls the
profile would deny are listed. An empty or malformed profile file is one ``error:`` line and
exit status 2.

examples:
    app.py verify --seccomp out/cat.seccomp.json -- cat /etc/hostname
    app.py verify --timeout 30 --seccomp out/web.seccomp.json -- python3 -m http.server
    app.py verify --what-if --seccomp out/cat.seccomp.json -- ls /
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from agent.confine import ALLOWING, Outcome, ProfileError, check_profile, run_confined

TIMED_OUT = 124


class UsageError(Exception):
    """Bad input: one ``error:`` line, exit status 2."""


def allowed(profile: Mapping[str, Any]) -> set[str]:
    return {n for rule in profile.get("syscalls", []) if rule["action"] in ALLOWING and not rule.get("args")
            for n in rule["names"]}


def would_deny(profile: Mapping[str, Any], observed: Sequence[str]) -> list[str]:
    """The observed syscalls the profile does not allow (in observed order)."""
    if profile["defaultAction"] in ALLOWING:
        rules = profile.get("syscalls", [])
        denied = {n for rule in rules if rule["action"] not in ALLOWING for n in rule["names"]}
        return [s for s in observed if s in denied]
    permitted = allowed(profile)
    return [s for s in observed if s not in permitted]


def what_if(profile: Mapping[str, Any], cmd: Sequence[str], timeout: float) -> list[str]:
    """Run CMD traced and unconfined; the syscalls it made that the profile would deny."""
    from agent.localmode import TracerClient, run_traced

    client = TracerClient()
    try:
        run_traced(client, "what-if", cmd, timeout, lambda: None)
    finally:
        client.close()
    names = [n for e in client.of("what-if") if e["kind"] == "syscalls" for n in e["names"]]
    return would_deny(profile, names)


def load_profile(path: str) -> Mapping[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from error
    if not text.strip():
        raise UsageError(f"{path} is empty: no seccomp profile (the model recorded no syscall)")
    try:
        return check_profile(json.loads(text))
    except (json.JSONDecodeError, ProfileError) as error:
        raise UsageError(f"{path} is not a usable seccomp profile: {error}") from error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__
    parser.add_argument("--seccomp", required=True, metavar="FILE", help="OCI seccomp profile (JSON)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="stop CMD after SECONDS (default: 60; 0: no limit)")
    parser.add_argument("--what-if", action="store_true",
                        help="run traced but unconfined; list what would be denied")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]")


def validate(args: argparse.Namespace) -> tuple[Mapping[str, Any], list[str]]:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else list(args.cmd)
    if not cmd:
        raise UsageError("give a command after --")
    if not math.isfinite(args.timeout) or args.timeout < 0:
        raise UsageError(f"--timeout {args.timeout}: must be a number of seconds >= 0")
    profile = load_profile(args.seccomp)
    if shutil.which(cmd[0]) is None:
        raise UsageError(f"{cmd[0]}: command not found")
    return profile, cmd


def report(outcome: Outcome, cmd: Sequence[str], path: str, timeout: float) -> int:
    if outcome.unknown:
        print(f"verify: this libseccomp does not know {', '.join(outcome.unknown)}", file=sys.stderr)
    for name, count in outcome.denied.most_common():
        print(f"denied: {name} x{count}")
    total = sum(outcome.denied.values())
    denials = f"{len(outcome.denied)} syscall(s) denied {total} time(s)" if total else "no syscall denied"
    if outcome.timed_out:
        print(f"verify: {' '.join(cmd)} timed out after {timeout:g}s under {path}; {denials}",
              file=sys.stderr)
        return TIMED_OUT
    verdict = "succeeded" if outcome.status == 0 and not total else f"failed (exit status {outcome.status})"
    print(f"verify: {' '.join(cmd)} {verdict} under {path}; {denials}", file=sys.stderr)
    if outcome.status != 0:
        return outcome.status if 0 < outcome.status < 256 else 1
    return 1 if total else 0


def run(args: argparse.Namespace) -> int:
    try:
        profile, cmd = validate(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.what_if:
        denied = what_if(profile, cmd, args.timeout)
        for name in denied:
            print(f"would deny: {name}")
        print(f"verify: {len(denied)} syscall(s) would be denied", file=sys.stderr)
        return 1 if denied else 0
    outcome = run_confined(profile, cmd, args.timeout)
    return report(outcome, cmd, args.seccomp, args.timeout)
