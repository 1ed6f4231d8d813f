"""Deterministic classifier for random-looking path components.

Upstream vArmor sends every event path over HTTP to a BiLSTM tagger (adobe/stringlifier) and
replaces each component that the model tags as a hash, number, UUID or JWT by ``*`` (upstream spec
§4.10). This module does the same job with a few explainable, pure rules, so that path generalization
(``trimPath``, §4.9) needs no network, no model download and no randomness.

A component is judged as a whole and replaced as a whole, never in part; the classifier only ever
produces ``*``, never ``**``. Rules are data tables, tried in this order:

0. ``FIRST_RANDOM_SHAPES``: IPv4 addresses (alone or with a suffix), which would otherwise pass
   as versions.
1. ``MEANINGFUL_SHAPES``: shapes that look noisy but carry meaning (versions, locales, device
   names, kernel releases, library sonames, short names) win next.
2. ``RANDOM_SHAPES``: whole-component regexes for things made by a machine (UUIDs, JWTs, numeric
   ids, date and time stamps, temp and build names of common tools, interface names with hex
   tails, session files, bundler content hashes, Kubernetes name suffixes); then pod-name
   suffixes and ``mktemp``-style mixed-case tails.
3. ``TOKEN_RULES``: the component is cut into alphanumeric tokens and each token is scored on
   its character classes (hex runs, class transitions, case/digit segment lengths, entropy).

The rules were tuned on the tuning part of a set of components that real software made on this
machine (``tests/generator/data/LABELLING.md``); its held-out part measures them.

Numbers: a bare numeric component of 1–2 digits is kept (``/dev/pts/1``, ``rc2``, ``15`` as a
PostgreSQL major version); 3 or more digits is an id and becomes ``*``. A run of 5 or more digits
inside a component (timestamps, pids, dates) makes it random, unless it follows a letter or a dot
(``ed25519``, ``GB18030``, ``libcairo.so.2.11600.0``: names and version parts). ``/proc/<digits>``
is handled by the ``trimPath`` rules before the classifier is asked.

Context: a component is also judged in its path. One- and two-character hex names directly under
an object or cache store (``.git/objects/1e``, ``_cacache/index-v5/98/20``, ``http-v2/0/4/1``,
``go-build/3f``) are shards of a content hash there, so they are random in that place only
(``CONTEXT_STORES``); the same ``1e`` elsewhere stays. Numbers under ``snapshots`` come from a
node-wide sequence (``SEQUENCE_STORES``); ``mkstemp`` names of a tool's fixed template in its own
directory (``.git/tXXXXXX``) are random whatever their six characters spell (``TEMPLATE_DIRS``).
``explain(component)`` names the rule that decided a component on its own; ``explain_path(path)``
names the rule of every component in its place.

Decisions are cached per component (bounded LRU, ~25 MB when full), so ``generalize_path`` costs a
split, a few dict hits and a join once a run's directories have been seen.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import sys
from collections import Counter
from collections.abc import Callable

# Shapes that are meaningful even though they contain digits or odd runs. Whole-component match.
MEANINGFUL_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("version", re.compile(
        r"(?:[A-Za-z][A-Za-z0-9+]*[-_]?)?v?\d{1,4}(?:\.\d{1,4})+(?:[-+~][A-Za-z0-9]{1,12})*")),
    ("locale", re.compile(r"(?:[a-z]{2,3}_[A-Z]{2}|C|POSIX)(?:\.[A-Za-z0-9-]{2,12})?(?:@[a-z]{2,10})?")),
    ("device", re.compile(
        r"(?:[shv]d|xvd)[a-z]{1,2}\d{0,3}|nvme\d{1,3}(?:n\d{1,3})?(?:p\d{1,3})?|mmcblk\d{1,3}(?:p\d{1,3})?"
        r"|(?:loop|md|sr|nbd|ram|cpu|node|event|hidraw|eth|ens|veth|tty[A-Za-z]{0,4})\d{1,4}|dm-\d{1,4}")),
    ("soname", re.compile(r"(?:lib|ld)[A-Za-z0-9_+.-]*?\.so(?:\.\d{1,8})*")),
    ("short", re.compile(r"[^0-9]{1,4}|\d{1,2}|.{1,2}")),
)
# Machine-made shapes that the meaningful shapes above would take for versions. Tried first.
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
FIRST_RANDOM_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ip-address", re.compile(rf"^(?=(?:\d*\.)*\d\d+\.(?:\d*\.)*\d\d)"  # two octets of 2+ digits
                              rf"{_OCTET}(?:\.{_OCTET}){{3}}(?:[.:_-][A-Za-z0-9]+)*$")),
)

_HEX = frozenset("0123456789abcdefABCDEF")
_VOWELS = frozenset("aeiouyAEIOUY")
_KUBE = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand alphabet: no vowels, no 0 1 3
# Vowel-free words that a kube-suffix rule would otherwise take for a pod or ReplicaSet suffix.
VOWELLESS_WORDS = frozenset({"https", "btrfs", "html5", "pgsql", "xhtml", "shtml", "sftp", "dhcp",
                             "slf4j", "x2go", "mp3", "h264", "h265", "http2", "http3", "pkcs7", "pkcs8"})

# Whole-component shapes made by machines. ``search`` semantics unless anchored.
RANDOM_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("uuid", re.compile(r"[0-9a-fA-F]{8}[-_]?(?:[0-9a-fA-F]{4}[-_]?){3}[0-9a-fA-F]{12}")),
    ("jwt", re.compile(r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{4,}")),
    ("projected-volume-timestamp", re.compile(r"^\.\.\d{4}(?:_\d{2}){5}\.\d+$")),
    ("numeric-id", re.compile(r"^\d{3,}$|(?<![A-Za-z0-9.])\d{5,}")),  # after a dot: a version part
    ("openssl-hash-link", re.compile(r"^[0-9a-f]{8}\.r?\d$")),
    ("pid-suffix", re.compile(r"^[A-Za-z][\w-]*(?<!\d)\.\d{3,}$")),
    ("temp-name", re.compile(
        r"^(?:\.?tmp[._-]?|pip-(?:install|req-build|build-env|ephem-wheel-cache)-|pymp-|ssh-"
        r"|\.org\.chromium\.Chromium\.|\.com\.google\.Chrome\.)(?=[A-Za-z0-9_]*[0-9A-Z_])[A-Za-z0-9_]{5,}$")),
    ("python-tempfile", re.compile(
        r"^tmp[a-z0-9_]{8}(?:$|[._-])|^[\w.-]*?(?=[a-z_]{0,7}[\d_])[a-z0-9_]{8}\.tmp$"
        r"|^[A-Za-z][A-Za-z0-9]*-(?!(?:[a-z]+\d+|\d+[a-z]+)(?:$|\.))"  # not a word and a number
        r"(?=[a-z_]*[\d_])(?=[0-9_]*[a-z])[a-z0-9_]{6,8}(?:\.[a-z]{2,5})?$")),
    ("date-stamp", re.compile(r"(?!^\d{4}-\d\d-\d\d$)"  # a bare date names an API version
                              r"(?:19|20)\d\d([-_])(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])(?!\d)"
                              r"|(?<![vV\d])(?<!\d\.)"  # not a version part
                              r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:\d{2}){0,3}(?!\d)")),
    ("tool-temp-name", re.compile(
        r"^(?:go-build\d+|pytest-\d+|_MEI\w{6}|tomcat\.\d+\.\d+|\.java_pid\d+|apt-key-gpghome\.\w{6,}"
        r"|sed\w{6}"
        r"|sem\.(?:mp-)?\w{6,}|pip-[a-z-]+-\w{8}|\.#lk0x[0-9a-f]+\..*|.+\.tmp[0-9a-f]{4,}"
        r"|cc(?=\w{0,5}[A-Z0-9])\w{6}\.[a-z.]{1,8}|TryCompile-\w{6}|cmTC_[0-9a-f]{5}(?:_loc|\.dir)?)$")),
    ("interface-hex-tail", re.compile(r"^(?:veth|cali|lxc|tap|vxlan|cni|flannel|eni|gke)[0-9a-f]{5,}$")),
    ("session-file", re.compile(r"^sess_[A-Za-z0-9,-]{16,}$")),
    ("bundle-hash", re.compile(
        r"^[A-Za-z0-9_.-]+[.-](?=[A-Za-z0-9_-]*[0-9A-Z])[A-Za-z0-9_-]{8}(?:\.(?:m?js|css|map|wasm))+$")),
    ("kubelet-volume-name", re.compile(rf"^(?:kube-api-access|[a-z][a-z0-9-]*-token)-[{_KUBE}]{{5}}$")),
    ("kube-replicaset-hash", re.compile(
        rf"-(?=[{_KUBE}]*\d)(?=[{_KUBE}]*[a-z])[{_KUBE}]{{8,10}}(?=$|[-_.])")),
)
# Object and cache stores whose one- and two-character hex children are hash shards.
CONTEXT_STORES = frozenset({
    "objects",  # git: .git/objects/1e/…
    "http", "http-v2", "wheels",  # pip: ~/.cache/pip/http-v2/0/4/1/8/c/…
    "content-v2", "index-v5", "sha1", "sha256", "sha512",  # npm cacache, OCI/containerd blob stores
    "go-build", "gopls", "ccache", "sccache", "bazel-cache",  # build caches
})
_SHARD = re.compile(r"[0-9a-f]{1,2}")
# Stores whose children are numbered from a sequence (containerd snapshots).
SEQUENCE_STORES = frozenset({"snapshots"})
# Directories where a tool makes ``mkstemp`` names from a fixed template: the six characters are
# random whatever they spell (``git init`` probes symlink support with ``.git/tXXXXXX``).
TEMPLATE_DIRS: dict[str, re.Pattern[str]] = {".git": re.compile(r"t[A-Za-z0-9]{6}")}
_KUBE_SUFFIX = re.compile(rf"-((?=[{_KUBE}]*\d)[{_KUBE}]{{5}})(?=$|[_.])"  # a digit: anywhere
                          rf"|^[a-z0-9]+(?:-[a-z0-9]+)+-([{_KUBE}]{{5}})$")  # none: after a long name
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_TEMP_TAIL = re.compile(r"^[A-Za-z][\w-]*?[.-]((?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])[A-Za-z0-9]{6,10})"
                        r"(?:\.[a-z]{2,5})?$")
_CAMEL_WORD = re.compile(r"[A-Z]?[a-z]+(?:[A-Z][a-z]+)*\d*")
_SEGMENT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _transitions(token: str) -> int:
    """Letter↔digit and lower→upper changes; upper→lower is how every CamelCase word starts."""
    return sum(a.isdigit() != b.isdigit() or (a.islower() and b.isupper())
               for a, b in itertools.pairwise(token))


def _hex_run(token: str) -> bool:
    """Hashes, git ids, container ids: ≥ 7 hex digits mixing letters and digits more than once."""
    if len(token) < 7 or not _HEX.issuperset(token) or token.isdigit() or token.isalpha():
        return False
    return len(token) >= 12 or _transitions(token) >= 2


def _wordlike_share(segments: list[str], length: int) -> float:
    """Share of the token's characters in segments that read as words (≥ 3 letters, a vowel)."""
    return sum(len(s) for s in segments if len(s) >= 3 and s.isalpha() and _VOWELS & set(s)) / length


def _choppy(token: str) -> bool:
    """Base64 and mktemp tails: mixed classes, few word-like segments, many short segments."""
    n = len(token)
    upper, lower = token.lower() != token, token.upper() != token
    digit = not token.isalpha()
    if n < 6 or (n < 8 and not (upper and lower)) or upper + lower + digit < 2:
        return False
    segments = _SEGMENT.findall(token)
    if _wordlike_share(segments, n) >= 0.5:
        return False
    short = sum(len(s) <= 2 for s in segments) / len(segments)
    return short >= 0.6 or _transitions(token) / (n - 1) >= 0.3


def _high_entropy(token: str) -> bool:
    """Long single tokens whose characters are spread too evenly for words (base32, base64)."""
    if len(token) < 20:
        return False
    n = len(token)
    if _wordlike_share(_SEGMENT.findall(token), n) >= 0.5:
        return False
    entropy = -sum(c / n * math.log2(c / n) for c in Counter(token).values())
    return entropy >= 3.9


TOKEN_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("hex-run", _hex_run),
    ("choppy-token", _choppy),
    ("high-entropy-token", _high_entropy),
)


def _mktemp_tail(component: str) -> bool:
    """``mktemp``/``mkdtemp`` tails: 6–10 mixed-case characters after a prefix, not a CamelCase word."""
    match = _TEMP_TAIL.search(component)
    return match is not None and not _CAMEL_WORD.fullmatch(match.group(1))


def _kube_suffix(component: str) -> bool:
    """Pod and DaemonSet names end in ``-<5 chars of the kube alphabet>`` (``http2``-like excepted)."""
    match = _KUBE_SUFFIX.search(component)
    if match is None:
        return False
    suffix = match.group(1) or match.group(2)
    return suffix not in VOWELLESS_WORDS


@functools.lru_cache(maxsize=1 << 18)  # ~25 MB when full, keys aside
def explain(component: str) -> str:
    """Name of the rule that decided ``component``: ``random:<rule>`` or ``meaningful:<rule>``."""
    if not component or "*" in component or "\\" in component:
        return "meaningful:empty-glob-or-escape"
    for name, pattern in FIRST_RANDOM_SHAPES:
        if pattern.search(component):
            return sys.intern(f"random:{name}")
    for name, pattern in MEANINGFUL_SHAPES:
        if pattern.fullmatch(component):
            return sys.intern(f"meaningful:{name}")
    for name, pattern in RANDOM_SHAPES:
        if pattern.search(component):
            return sys.intern(f"random:{name}")
    if _kube_suffix(component):
        return "random:kube-pod-suffix"
    if _mktemp_tail(component):
        return "random:mktemp-tail"
    if component.isalpha() and len(component) < 20:
        return "meaningful:letters"
    for token in _TOKEN.findall(component):
        for name, rule in TOKEN_RULES:
            if rule(token):
                return sys.intern(f"random:{name}")
    return "meaningful:no-rule"


def is_random_component(component: str) -> bool:
    """True when ``component`` looks machine-made (hash, UUID, token, id, pod suffix, temp name)."""
    return explain(component).startswith("random:")


def _in_context(previous: str, part: str, in_store: bool) -> str | None:
    """The rule that only the component's place decides, or None to ask ``explain``."""
    if in_store and len(part) <= 2 and _SHARD.fullmatch(part):
        return "random:store-shard"
    if previous in SEQUENCE_STORES and part.isdigit() and part.isascii():
        return "random:store-sequence-number"
    template = TEMPLATE_DIRS.get(previous)
    if template is not None and template.fullmatch(part):
        return "random:tool-template-name"
    return None


def explain_path(path: str) -> list[str]:
    """The deciding rule of every component of ``path``, judged in its place (see ``explain``)."""
    rules: list[str] = []
    in_store, previous = False, ""
    for part in path.split("/"):
        rule = _in_context(previous, part, in_store)
        in_store = (in_store and rule == "random:store-shard") or part in CONTEXT_STORES
        previous = part
        rules.append(rule or explain(part))
    return rules


_RANDOM: dict[str, bool] = {}  # generalize_path's own decision cache: a dict hit is the hot path
_RANDOM_LIMIT = 1 << 18


def _decide(part: str) -> bool:
    if len(_RANDOM) >= _RANDOM_LIMIT:
        _RANDOM.clear()
    random = _RANDOM[part] = explain.__wrapped__(part)[0] == "r"
    return random


def clear_caches() -> None:
    """Forget every cached decision (benchmarks measure a cold start with it)."""
    _RANDOM.clear()
    explain.cache_clear()


def generalize_path(path: str) -> str:
    """Replace each random component of ``path`` by ``*``, whole; slashes, empties and globs stay.

    This is what the model builder calls (through ``generator.globbing.generalize``).
    """
    parts = path.split("/")
    context = changed = in_store = False
    for index, part in enumerate(parts):
        if context:  # the previous component was a store: ``_in_context`` decides first
            rule = _in_context(parts[index - 1] if index and parts[index - 1] != "*" else "", part, in_store)
            if rule is not None:
                parts[index] = "*"
                changed = True
                continue
        in_store = part in CONTEXT_STORES
        context = in_store or part in SEQUENCE_STORES or part in TEMPLATE_DIRS
        random = _RANDOM.get(part)
        if random is None:
            random = _decide(part)
        if random:
            parts[index] = "*"
            changed = True
    return "/".join(parts) if changed else path
