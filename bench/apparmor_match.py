"""An AppArmor rule matcher for the fidelity suite: would this profile allow this request?

Our kernel has no AppArmor, so the suite judges generated profiles with this matcher. Globs
follow ``apparmor_parser``'s ``convert_aaregex_to_pcre``: ``*`` is ``[^/\\0]*``, ``**`` is
``[^\\0]*``, ``?`` one character but ``/``, ``[...]`` (``[^...]``) a class, ``{a,b}`` an
alternation (nested), a backslash quotes the next character, and a ``*`` or ``**`` that is a
whole path component must match at least one character (``/foo/*`` does not match
``/foo/``). Multiple slashes collapse. Permissions of every matching rule are united; ``w``
implies ``a``, ``ix`` gives ``x`` and ``m``; an ``owner`` rule applies only to files the
process owns. Quoted tokens take octal escapes (``\\ooo``) as the generator writes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RULE = re.compile(r'\s*(owner\s+)?("(?:[^"\\]|\\.)*"|/\S*)\s+([a-z]+)\s*,\s*$')
_CAPABILITY = re.compile(r"\s*capability\s+([a-z_]+)\s*,\s*$")


@dataclass(frozen=True)
class Rule:
    pattern: str
    regex: re.Pattern[str]
    permissions: frozenset[str]
    owner: bool


def _unquote(token: str) -> str:
    if not token.startswith('"'):
        return token
    body, out, i = token[1:-1], bytearray(), 0
    while i < len(body):
        if body[i] == "\\" and re.fullmatch(r"[0-7]{3}", body[i + 1:i + 4]):
            byte = int(body[i + 1:i + 4], 8)
            out += (b"\\" + bytes([byte])) if bytes([byte]) in (b"\\", b'"') else bytes([byte])
            i += 4
        elif body[i] == "\\":
            out += ("\\" + body[i + 1]).encode("utf-8", "surrogateescape")
            i += 2
        else:
            out += body[i].encode("utf-8", "surrogateescape")
            i += 1
    return out.decode("utf-8", "surrogateescape")


def _stars(pattern: str, i: int, out: list[str]) -> int:
    """Translate the ``*``/``**`` at ``i``; returns the index after it."""
    run = 2 if pattern[i:i + 2] == "**" else 1
    end = i
    while end < len(pattern) and pattern[end] == "*":
        end += 1
    if out and out[-1].endswith("/") and (end == len(pattern) or pattern[end] == "/"):
        out.append("[^/\\x00]")
    out.append("[^\\x00]*" if run == 2 else "[^/\\x00]*")
    return i + run


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """The compiled regex of an AppArmor path pattern (whole-path match)."""
    pattern = re.sub(r"/+", "/", pattern)
    out: list[str] = []
    i, depth, in_class = 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append(char if char in "]^-" else re.escape(char))
        elif char == "*":
            i = _stars(pattern, i, out)
            continue
        elif char == "?":
            out.append("[^/\\x00]")
        elif char == "[":
            in_class = True
            out.append("[")
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _permissions(letters: str) -> frozenset[str]:
    granted = set(letters.replace("ix", "").replace("px", "").replace("ux", ""))
    if any(x in letters for x in ("ix", "px", "ux", "Px", "Ux")):
        granted |= {"x", "m"}
    if "w" in granted:
        granted.add("a")
    return frozenset(granted)


@dataclass
class Profile:
    rules: list[Rule]
    capabilities: set[str]

    def allows(self, path: str, letters: str, owned: bool = True) -> bool:
        """Whether every permission letter in ``letters`` is granted on ``path``."""
        granted: set[str] = set()
        for rule in self.matching(path, owned):
            granted |= rule.permissions
        return set(letters) <= granted

    def matching(self, path: str, owned: bool = True) -> list[Rule]:
        path = re.sub(r"/+", "/", path)
        return [r for r in self.rules if (owned or not r.owner) and r.regex.fullmatch(path)]


def parse_profile(text: str) -> Profile:
    """The file/exec rules and capabilities of a profile's text (other rules are ignored)."""
    rules: list[Rule] = []
    capabilities: set[str] = set()
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        if match := _CAPABILITY.match(line):
            capabilities.add(match.group(1))
        elif match := _RULE.match(line):
            pattern = _unquote(match.group(2))
            rules.append(Rule(pattern, glob_to_regex(pattern), _permissions(match.group(3)),
                              bool(match.group(1))))
    return Profile(rules, capabilities)
