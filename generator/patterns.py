"""AppArmor path patterns: escaping recorded paths, checking patterns, quoting for profiles.

A recorded path is literal; a model path is an AppArmor pattern in which ``*``, ``**`` and
``?`` are globs. ``escape_literal`` turns a recorded path into a pattern that matches
exactly that path; the globbing rules then replace whole components. ``check_pattern``
accepts only the strict grammar the generator itself produces; ``quote_pattern`` renders a
checked pattern as one safe profile token (quoted, with octal escapes for anything that is
not printable ASCII), so no recorded byte can end a rule or start another.
"""

from __future__ import annotations

import re

# Characters with a meaning in AppArmor globs or profile syntax, escaped with a backslash.
SPECIALS = frozenset('*?[]{}^\\"@#')
_PLAIN = re.compile(r"[A-Za-z0-9/._+\-*?]*")
_ESCAPE = r"\\[*?\[\]{}^\\\"@#]"
_TOKEN = re.compile(_ESCAPE + r"|\*\*|\*|\?|[^\\*?\[\]{}^\"@#\x00]")
MAX_PATTERN_LENGTH = 4096
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


def escape_literal(path: str) -> str:
    """The pattern that matches exactly ``path``."""
    if not any(c in SPECIALS for c in path):
        return path
    return "".join("\\" + c if c in SPECIALS else c for c in path)


def check_pattern(pattern: str) -> str | None:
    """The reason ``pattern`` cannot be rendered safely, or None when it can."""
    if not pattern.startswith("/"):
        return "not an absolute path"
    if len(pattern) > MAX_PATTERN_LENGTH:
        return "longer than 4096 characters"
    if "\x00" in pattern:
        return "contains a NUL byte"
    position = 0
    for match in _TOKEN.finditer(pattern):
        if match.start() != position:
            break
        position = match.end()
    if position != len(pattern):
        return f"unescaped special character at offset {position}"
    return None


def _octal(char: str) -> str:
    data = char.encode("utf-8", "surrogateescape")
    return "".join(f"\\{byte:03o}" for byte in data)


def quote_pattern(pattern: str) -> str:
    """One profile token for a checked pattern: bare when plain, else quoted and escaped."""
    if _PLAIN.fullmatch(pattern):
        return pattern
    out = []
    for match in _TOKEN.finditer(pattern):
        token = match.group()
        if token in ("\\\\", '\\"'):  # a backslash before the closing quote would escape it
            out.append(_octal(token[1]))
        else:
            out.append(token if len(token) > 1 or " " <= token <= "~" else _octal(token))
    return '"' + "".join(out) + '"'


def check_name(name: str) -> str | None:
    """The reason ``name`` is not a safe profile or peer name, or None."""
    if NAME.fullmatch(name):
        return None
    return "must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
