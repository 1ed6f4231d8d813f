"""Properties of path generalization, for any path (hypothesis).

- A generalized path still matches the path it came from under AppArmor's glob rules (``*`` is
  any run of characters but ``/``, and a ``*`` or ``**`` that starts a component matches at least
  one character; ``**`` also crosses ``/``; ``\\x`` is a literal ``x``). Checked through the
  product chain: escape the recorded path, then ``globbing.generalize``.
- A component is replaced whole by one ``*`` or left exactly as it was; generalizing twice changes
  nothing more; no decision depends on the paths seen before (caches only remember).
- Versions, locales, device names and library sonames are never replaced, wherever they stand.
"""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st

from generator.classifier import clear_caches, explain_path, generalize_path
from generator.globbing import generalize
from generator.patterns import escape_literal

_TOKEN = re.compile(r"\\(.)|\*\*|\*|\?|.", re.DOTALL)


def apparmor_regex(pattern: str) -> re.Pattern[str]:
    """AppArmor glob semantics (apparmor_parser's ``convert_aaregex_to_pcre``) as a Python regex."""
    out: list[str] = []
    for match in _TOKEN.finditer(pattern):
        token, starts_component = match.group(), match.start() > 0 and pattern[match.start() - 1] == "/"
        if match.group(1) is not None:
            out.append(re.escape(match.group(1)))
        elif token == "**":
            out.append("[^/\x00][^\x00]*" if starts_component else "[^\x00]*")
        elif token == "*":
            out.append("[^/\x00][^/\x00]*" if starts_component else "[^/\x00]*")
        elif token == "?":
            out.append("[^/\x00]")
        else:
            out.append(re.escape(token))
    return re.compile("".join(out), re.DOTALL)


def test_the_apparmor_matcher_itself_follows_the_glob_rules() -> None:
    assert apparmor_regex("/a/*/c").fullmatch("/a/b/c")
    assert not apparmor_regex("/a/*/c").fullmatch("/a//c")
    assert not apparmor_regex("/a/*/c").fullmatch("/a/b/x/c")
    assert apparmor_regex("/tmp/**").fullmatch("/tmp/x/y")
    assert not apparmor_regex("/tmp/**").fullmatch("/tmp/")
    assert apparmor_regex("/a\\*b").fullmatch("/a*b")
    assert not apparmor_regex("/a\\*b").fullmatch("/axb")


_ALPHABET = st.sampled_from("abcdefxyzABQZ0123456789._-+~@#*?[]{}^\\\" ")
_LEGIBLE = st.text(_ALPHABET, min_size=1, max_size=24)
_MACHINE = st.one_of(
    st.uuids().map(str),
    st.binary(min_size=4, max_size=32).map(bytes.hex),
    st.integers(100, 10**12).map(str),
    st.tuples(st.sampled_from(["tmp.", "pip-install-", "sess_", "go-build", "app-"]),
              st.text(string.ascii_letters + string.digits, min_size=6, max_size=12))
    .map("".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
)
_STORES = st.sampled_from(["objects", "http-v2", "snapshots", "1e", "ab", "7"])  # context rules
_COMPONENT = st.one_of(_LEGIBLE, _MACHINE, _STORES)
_ROOTS = st.sampled_from(["/", "/var/log/", "/tmp/", "/proc/", "/usr/lib/x86_64-linux-gnu/",
                          "/home/app/.git/",
                          "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/"])
_RECORDED = st.tuples(_ROOTS, st.lists(_COMPONENT, min_size=1, max_size=7)).map(
    lambda t: t[0] + "/".join(t[1]))


@given(_RECORDED, st.sampled_from(["r", "rw", "m", "a", "wk"]))
def test_a_generalized_path_still_matches_the_recorded_path_under_apparmor_globs(
    raw: str, letters: str,
) -> None:
    pattern = generalize(escape_literal(raw), letters)
    assert apparmor_regex(pattern).fullmatch(raw), (raw, pattern)


@given(_RECORDED)
def test_each_component_is_replaced_whole_by_one_star_or_kept_exactly(raw: str) -> None:
    before, after = raw.split("/"), generalize_path(raw).split("/")
    assert len(before) == len(after)
    assert all(a == b or (a == "*" and b) for b, a in zip(before, after, strict=True))
    assert [a == "*" != b for b, a in zip(before, after, strict=True)] == [
        rule.startswith("random:") and b != "*" for b, rule in zip(before, explain_path(raw), strict=True)]


@given(st.lists(_RECORDED, min_size=2, max_size=12))
def test_decisions_do_not_depend_on_what_was_seen_before(paths: list[str]) -> None:
    clear_caches()
    forward = [generalize_path(p) for p in paths]
    clear_caches()
    backward = [generalize_path(p) for p in reversed(paths)]
    assert forward == backward[::-1]


@given(_RECORDED)
def test_generalizing_twice_changes_nothing_more(raw: str) -> None:
    once = generalize_path(raw)
    assert generalize_path(once) == once


_NUM = st.integers(0, 999).map(str)
_WORD = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
VERSIONS = st.one_of(
    st.lists(_NUM, min_size=2, max_size=3).map(".".join),
    st.tuples(st.sampled_from(["", "v"]), st.lists(_NUM, min_size=2, max_size=3).map(".".join),
              st.sampled_from(["", "-rc1", "-beta2", "+deb12u1", "~rc3", "-1", "-57-amd64"])).map("".join),
    st.tuples(_WORD, st.sampled_from(["-", ""]), st.lists(_NUM, min_size=2, max_size=3).map(".".join))
    .map("".join),
)
LOCALES = st.one_of(
    st.sampled_from(["C", "POSIX", "C.UTF-8", "C.utf8"]),
    st.tuples(st.sampled_from(["en", "de", "zh", "pt", "sr", "ast", "fil"]), st.just("_"),
              st.sampled_from(["US", "DE", "CN", "BR", "RS", "ES", "PH"]),
              st.sampled_from(["", ".UTF-8", ".utf8", ".ISO-8859-1", ".GB18030", ".EUC-JP"]),
              st.sampled_from(["", "@euro", "@latin"])).map("".join),
)
DEVICES = st.one_of(
    st.tuples(st.sampled_from(["sd", "vd", "hd", "xvd"]), st.sampled_from(["a", "b", "z", "aa"]),
              st.sampled_from(["", "1", "15"])).map("".join),
    st.tuples(st.integers(0, 9), st.integers(1, 9), st.integers(1, 12))
    .map(lambda t: f"nvme{t[0]}n{t[1]}p{t[2]}"),
    st.tuples(st.sampled_from(["loop", "tty", "ttyS", "ttyUSB", "md", "sr", "nbd", "dm-", "hidraw", "event",
                               "cpu", "eth", "mmcblk", "ram", "veth"]), st.integers(0, 255).map(str))
    .map("".join),
)
SONAMES = st.tuples(
    st.sampled_from(["lib", "ld-linux-"]),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789_+-", min_size=1, max_size=16),
    st.just(".so"),
    st.lists(st.integers(0, 99999).map(str), max_size=3).map(lambda v: "".join("." + x for x in v)),
).map("".join)
_NAMED = st.one_of(VERSIONS, LOCALES, DEVICES, SONAMES)
_PARENT = st.lists(st.sampled_from(["usr", "share", "locale", "dev", "opt", "objects", "http-v2", "app",
                                    "python3.11", "x86_64-linux-gnu", "1e"]), max_size=4)


@given(_PARENT, _NAMED, _PARENT)
def test_versions_locales_device_names_and_sonames_are_never_replaced(
    before: list[str], named: str, after: list[str],
) -> None:
    path = "/" + "/".join([*before, named, *after])
    assert generalize_path(path).split("/")[len(before) + 1] == named, explain_path(path)
