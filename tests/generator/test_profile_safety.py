"""Property tests: recorded bytes can never break or extend a generated AppArmor profile."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.aggregate import model_from_events
from generator.checking import check_apparmor
from generator.patterns import check_name, quote_pattern
from generator.render import RenderError, render_apparmor

HOSTILE = ["\n", '"', ",", " ", "}", "{", "#", "\\", "*", "[", "^", "@{HOME}", "\x00", "\udcff",
           "\n  capability sys_admin,\n", '" rw,\n  /** rwklm,\n']
fragments = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12),
                      st.binary(max_size=12).map(lambda b: b.decode("utf-8", "surrogateescape")))
paths = st.lists(fragments, min_size=1, max_size=6).map(lambda parts: "/" + "".join(parts))
ACCESS = ["read", "write", "append", "create", "mmap", "link", "lock"]
PARSE_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _file(path: str, access: list[str]) -> dict[str, object]:
    return {"v": 1, "kind": "file", "target": "t", "path": path, "access": access, "owner": True}


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _unquote(token: str) -> bytes:
    """Read a profile token the way AppArmor's lexer reads quoted strings, as pattern bytes."""
    if not token.startswith('"'):
        return _bytes(token)
    body = token[1:-1]
    data = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "\\" and re.fullmatch(r"[0-7]{3}", body[i + 1:i + 4]):
            byte = int(body[i + 1:i + 4], 8)
            data += b"\\" + bytes([byte]) if bytes([byte]) in (b"\\", b'"') else bytes([byte])
            i += 4
        elif body[i] == "\\":
            data += ("\\" + body[i + 1]).encode()
            i += 2
        else:
            data += _bytes(body[i])
            i += 1
    return bytes(data)


@PARSE_SETTINGS
@given(st.lists(st.tuples(paths, st.lists(st.sampled_from(ACCESS), min_size=1, max_size=3)),
                min_size=1, max_size=8),
       st.lists(paths, max_size=3))
def test_arbitrary_paths_yield_a_profile_the_parser_accepts(
    files: list[tuple[str, list[str]]], execs: list[str]
) -> None:
    events = [_file(p, a) for p, a in files]
    events += [{"v": 1, "kind": "exec", "target": "t", "path": p} for p in execs]
    model = model_from_events("prop-test", events)
    profile = render_apparmor(model)
    check = check_apparmor(profile)
    assert check.checked and check.ok, (check.message, profile)


@PARSE_SETTINGS
@given(st.lists(st.tuples(paths, st.lists(st.sampled_from(ACCESS), min_size=1, max_size=3)),
                min_size=1, max_size=8))
def test_paths_never_inject_an_extra_rule(files: list[tuple[str, list[str]]]) -> None:
    model = model_from_events("prop-test", [_file(p, a) for p, a in files])
    profile = render_apparmor(model)
    body = profile.split("# ---- FILE ----\n")[1].split("# ---- CAPABILITY")[0]
    lines = [line for line in body.split("\n") if line.strip()]
    rendered = {_bytes(f.path) for f in model.apparmor.files if f.permissions}
    assert len(lines) == len(rendered)
    for line in lines:
        match = re.fullmatch(r'  owner ("(?:[^"\\]|\\.)*"|[A-Za-z0-9/._+\-*?]+) ([aklmrw]+),', line)
        assert match, line
        assert _unquote(match.group(1)) in rendered
    capabilities = profile.split("# ---- CAPABILITY ----")[1].split("# ---- NETWORK")[0]
    assert capabilities.strip() == ""


@given(st.text(max_size=80))
def test_names_are_rendered_only_when_safe(name: str) -> None:
    model = model_from_events(name, [_file("/etc/hosts", ["read"])])
    try:
        profile = render_apparmor(model)
    except RenderError:
        assert check_name(name) is not None
        return
    assert check_name(name) is None
    assert f"profile {name} flags=" in profile


@given(paths)
def test_quoted_tokens_are_single_line_printable_ascii(path: str) -> None:
    from generator.patterns import check_pattern, escape_literal

    pattern = escape_literal(path)
    if check_pattern(pattern) is None:
        token = quote_pattern(pattern)
        assert all(" " <= c <= "~" for c in token)
        assert _unquote(token) == _bytes(pattern)


@PARSE_SETTINGS
@given(st.lists(fragments, min_size=1, max_size=4))
def test_recorded_peers_never_reach_the_profile(peers: list[str]) -> None:
    events: list[dict[str, object]] = []
    for peer in peers:
        events.append({"v": 1, "kind": "ptrace", "target": "t", "peer": peer, "permissions": ["read"],
                       "external": True})
        events.append({"v": 1, "kind": "signal", "target": "t", "peer": peer, "permissions": ["send"],
                       "signals": [peer], "external": True})
    model = model_from_events("prop-test", events)
    profile = render_apparmor(model)
    assert profile == render_apparmor(model_from_events("prop-test", []))
    check = check_apparmor(profile)
    assert check.checked and check.ok, check.message
