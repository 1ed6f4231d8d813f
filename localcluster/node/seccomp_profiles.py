"""OCI seccomp profiles as the node reads them from its seccomp directory.

A ``Localhost`` seccomp profile in a pod names a JSON file (Docker/OCI format: ``defaultAction``,
``defaultErrnoRet``, ``architectures``, ``syscalls[].names/action/errnoRet/args``). This module
parses and checks that text into a frozen ``SeccompProfile``; ``kernel.load_seccomp`` turns the
model into a libseccomp filter just before a container (or an exec session) runs its command.
Pure: no files, no kernel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast

Action = Literal[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_LOG",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
]
ACTIONS: frozenset[str] = frozenset(Action.__args__)  # type: ignore[attr-defined]
OPERATORS: frozenset[str] = frozenset(
    {
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    }
)
EPERM = 1


class ProfileError(ValueError):
    """The profile text is not a usable OCI seccomp profile."""


@dataclass(frozen=True)
class ArgCheck:
    """One ``syscalls[].args`` comparison."""

    index: int
    op: str
    value: int
    value_two: int = 0


@dataclass(frozen=True)
class Rule:
    """One ``syscalls[]`` entry: an action for a set of syscall names."""

    names: tuple[str, ...]
    action: Action
    errno_ret: int
    args: tuple[ArgCheck, ...] = ()


@dataclass(frozen=True)
class SeccompProfile:
    """A whole profile: the default action and its rules, in file order."""

    default_action: Action
    default_errno_ret: int
    architectures: tuple[str, ...]
    rules: tuple[Rule, ...]


def parse_profile(text: str) -> SeccompProfile:
    """Parse OCI seccomp JSON; raise ``ProfileError`` with the reason when it is malformed."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ProfileError(f"not JSON: {err}") from err
    if not isinstance(raw, dict):
        raise ProfileError("the profile is not a JSON object")
    default_errno = _int(raw.get("defaultErrnoRet", EPERM), "defaultErrnoRet")
    return SeccompProfile(
        default_action=_action(raw.get("defaultAction")),
        default_errno_ret=default_errno,
        architectures=tuple(str(a) for a in raw.get("architectures") or ()),
        rules=tuple(_rule(r, default_errno) for r in raw.get("syscalls") or ()),
    )


def _rule(raw: Any, default_errno: int) -> Rule:
    if not isinstance(raw, dict):
        raise ProfileError("a syscalls entry is not an object")
    names = raw.get("names") or ([raw["name"]] if "name" in raw else [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ProfileError("syscalls[].names must be a list of strings")
    return Rule(
        names=tuple(cast(list[str], names)),
        action=_action(raw.get("action")),
        errno_ret=_int(raw.get("errnoRet", default_errno), "errnoRet"),
        args=tuple(_arg(a) for a in raw.get("args") or ()),
    )


def _arg(raw: Any) -> ArgCheck:
    if not isinstance(raw, dict) or raw.get("op") not in OPERATORS:
        raise ProfileError(f"unsupported syscall argument check {raw!r}")
    return ArgCheck(
        index=_int(raw.get("index"), "args[].index"),
        op=str(raw["op"]),
        value=_int(raw.get("value", 0), "args[].value"),
        value_two=_int(raw.get("valueTwo", 0), "args[].valueTwo"),
    )


def _action(value: Any) -> Action:
    if value not in ACTIONS:
        raise ProfileError(f"unsupported seccomp action {value!r}")
    return cast(Action, value)


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError(f"{field} must be an integer")
    return value
