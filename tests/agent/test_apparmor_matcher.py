"""The fidelity suite's AppArmor matcher follows apparmor_parser's glob and permission rules."""

from __future__ import annotations

import pytest

from bench.apparmor_match import glob_to_regex, parse_profile
from generator.aggregate import model_from_events
from generator.render import render_apparmor


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("/etc/passwd", "/etc/passwd", True),
    ("/etc/passwd", "/etc/passwd2", False),
    ("/etc/*", "/etc/hosts", True),
    ("/etc/*", "/etc/", False),  # a whole-component * needs one character
    ("/etc/*", "/etc/ssl/certs", False),
    ("/etc/*.conf", "/etc/a.conf", True),
    ("/etc/*.conf", "/etc/.conf", True),
    ("/usr/lib/x86_64-linux-gnu/**", "/usr/lib/x86_64-linux-gnu/a/b.so", True),
    ("/usr/lib/x86_64-linux-gnu/**", "/usr/lib/x86_64-linux-gnu/", False),
    ("/tmp/**", "/tmp/x/", True),
    ("/proc/*/fd/*", "/proc/12/fd/3", True),
    ("/proc/*/fd/*", "/proc/12/fd/", False),
    ("/dev/tty?", "/dev/tty1", True),
    ("/dev/tty?", "/dev/tty/", False),
    ("/dev/tty[0-9]", "/dev/tty7", True),
    ("/dev/tty[^0-9]", "/dev/tty7", False),
    ("/usr/{bin,sbin}/id", "/usr/sbin/id", True),
    ("/usr/{bin,sbin}/id", "/usr/lib/id", False),
    ("/a/{b,c{d,e}}/f", "/a/ce/f", True),
    ("/srv/notes\\#1.txt", "/srv/notes#1.txt", True),
    ("/srv/a\\*b", "/srv/a*b", True),
    ("/srv/a\\*b", "/srv/axb", False),
    ("/srv//double", "/srv/double", True),
])
def test_globs_match_as_apparmor_parser_compiles_them(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_to_regex(pattern).fullmatch(path)) is matches


def test_permissions_are_united_over_matching_rules_and_owner_rules_need_ownership() -> None:
    profile = parse_profile("""
profile p {
  owner /srv/data/** r,
  /srv/data/log w,
  /usr/bin/cat ix,
  capability chown,
  # /secret rw,
}
""")
    assert profile.allows("/srv/data/log", "rw")
    assert profile.allows("/srv/data/log", "a")  # w implies a
    assert not profile.allows("/srv/data/log", "r", owned=False)
    assert profile.allows("/srv/data/log", "w", owned=False)
    assert profile.allows("/usr/bin/cat", "xm") and not profile.allows("/usr/bin/cat", "r")
    assert not profile.allows("/secret", "r")
    assert profile.capabilities == {"chown"}


def test_the_generators_quoted_tokens_read_back_to_their_paths() -> None:
    paths = ["/srv/a b", "/srv/q\"uote", "/srv/back\\slash", "/srv/h#sh", "/srv/\udcffbyte", "/srv/{x}"]
    events = [{"v": 1, "kind": "file", "target": "t", "path": p, "access": ["read"], "owner": False}
              for p in paths]
    profile = parse_profile(render_apparmor(model_from_events("p", events)))
    for path in paths:
        assert profile.allows(path, "r"), path
    assert not profile.allows("/srv/ab", "r") and not profile.allows("/srv/x", "r")
