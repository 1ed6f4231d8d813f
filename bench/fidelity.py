"""The profile fidelity suite: real Debian programs modeled with ``app.py model``, judged.

Each program runs three times from the same freshly prepared work directory: once under
``app.py model`` (while a noise loop outside the target reads a marker file and runs a probe
binary), once under ``strace -f`` for the ground truth (``bench.strace_truth``), and once
under ``app.py verify`` with its own generated seccomp profile. The checks:

(a) seccomp: the replay exits as the traced run did and ``verify`` reports zero denied syscalls;
(b) AppArmor: every file access, exec and capability of the ground truth is allowed by the
    generated profile, judged by ``bench.apparmor_match`` (false denials are listed);
(c) nothing outside the target appears in the model (neither the noise loop's marker nor its
    probe binary).

Extra rules are file/exec rules no ground-truth request matched, plus capabilities the ground
truth does not need. Used by ``bench/bench_fidelity.py`` (all programs, three runs) and by
``tests/agent/test_fidelity.py`` (a quick subset).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench import strace_truth
from bench.apparmor_match import Profile, parse_profile

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORK_ROOT = "/var/tmp/varmor-fidelity"
OUTSIDE = "/opt/varmor-fidelity-outside"
PERL_SCRIPT = "#!/usr/bin/perl\nopen(my $f, '<', '/etc/passwd') or die;\nmy $n = () = <$f>;\n" \
    "open(my $o, '>', 'count.txt') or die;\nprint $o \"$n\\n\";\n"
PYTHON_SCRIPT = "#!/usr/bin/python3 -S\nimport json, pathlib\n" \
    "pathlib.Path('hosts.json').write_text(json.dumps(pathlib.Path('/etc/hosts').read_text().split()))\n"
HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
# The server answers exactly one request and exits by itself (killing it at a random point of its
# request handling would make each run take a different path). Every wait is a blocking read of a
# FIFO or the foreground wait for the server, so no run depends on timing: a retry loop's `sleep`
# and dash's `wait` builtin (rt_sigsuspend only when the child has not exited yet) ran in some runs
# only, and a replay that took them was denied the syscall. The server says it listens through
# `ready` (even when it cannot start, so the client never blocks for good); the client, in the
# background, reports its status through `done`.
HTTP = ("mkfifo ready done; (read up < ready; curl -sf -m 30 http://127.0.0.1:{port}/page.html "
        "-o got.html; echo $? > done) & /usr/bin/python3 -S -c 'import http.server as h\ntry:\n"
        "    s = h.HTTPServer((\"127.0.0.1\", {port}), h.SimpleHTTPRequestHandler)\n"
        "finally:\n    open(\"ready\", \"w\").write(\"1\\n\")\ns.handle_request()' 2>/dev/null; "
        "read status < done; test \"$status\" = 0 && test -s got.html")


@dataclass(frozen=True)
class Program:
    name: str
    kind: str
    command: tuple[str, ...]
    files: tuple[tuple[str, str, int], ...] = ()  # (name, content, mode) written before each run


def _sh(script: str) -> tuple[str, ...]:
    return ("/bin/sh", "-c", script)


PROGRAMS: tuple[Program, ...] = (
    Program("http-server", "server + client (python3 http.server, curl)", _sh(HTTP.format(port=18931)),
            (("page.html", "<p>hi</p>\n", 0o644),)),
    Program("git", "VCS", _sh("git init -q repo && cd repo && echo hi > a.txt && git add a.txt && "
                              "git -c user.name=t -c user.email=t@example.org commit -qm one && "
                              "git log --oneline >/dev/null")),
    Program("sqlite3", "database", ("sqlite3", "data.db", "create table t(x); insert into t values(1); "
                                    "select count(*) from t;")),
    Program("gcc", "compiler", _sh("gcc -o hello hello.c && ./hello"), (("hello.c", HELLO_C, 0o644),)),
    Program("tar", "archiver", _sh("tar -czf docs.tgz -C /usr/share/doc dpkg && mkdir out && "
                                   "tar -xzf docs.tgz -C out")),
    Program("pipeline", "shell pipeline", _sh("sort /etc/services | uniq | gzip -c > s.gz && "
                                              "zcat s.gz | wc -l > lines.txt")),
    Program("perl-script", "interpreter running a #! script", ("./count.pl",),
            (("count.pl", PERL_SCRIPT, 0o755),)),
    Program("python-script", "interpreter running a #! script", ("./hosts.py",),
            (("hosts.py", PYTHON_SCRIPT, 0o755),)),
    Program("find-md5sum", "find, xargs md5sum",
            _sh("find /usr/share/doc/tar -type f | xargs md5sum > sums.txt")),
    Program("openssl", "crypto tool", _sh("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=t "
                                          "-keyout key.pem -out cert.pem -days 1 2>/dev/null && "
                                          "openssl dgst -sha256 cert.pem >/dev/null")),
    Program("file-ops", "coreutils: mkdir, ln -s, cp, mv, rm -r", _sh(
        "mkdir -p a/b && ln -s a/b link && cp /etc/hostname a/b/h && mv a/b/h a/b/h2 && "
        "cat link/h2 >/dev/null && rm -r a link")),
)
QUICK = ("sqlite3", "pipeline", "perl-script")


@dataclass
class Result:
    program: str
    kind: str
    requests: int = 0
    false_denials: list[str] = field(default_factory=list)
    extra_rules: list[str] = field(default_factory=list)
    denied_syscalls: dict[str, int] = field(default_factory=dict)
    replay_status: int = 0
    traced_status: int = 0
    leaked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def prepare(program: Program) -> str:
    """A fresh work directory (same path every time) holding the program's files."""
    work = os.path.join(WORK_ROOT, program.name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for name, content, mode in program.files:
        path = os.path.join(work, name)
        pathlib.Path(path).write_text(content)
        os.chmod(path, mode)
    return work


def _app(argv: Sequence[str], cwd: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``app.py`` run from ``cwd`` as a shell user would (``PWD`` set: dash skips ``getcwd``)."""
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False, env={**os.environ, "PWD": cwd})


def start_noise() -> subprocess.Popen[bytes]:
    """A loop outside every target: reads a marker file and runs a probe binary."""
    os.makedirs(OUTSIDE, exist_ok=True)
    pathlib.Path(OUTSIDE, "marker").write_text("outside\n")
    shutil.copy("/usr/bin/true", os.path.join(OUTSIDE, "probe"))
    script = f"while :; do cat {OUTSIDE}/marker >/dev/null; {OUTSIDE}/probe; sleep 0.02; done"
    return subprocess.Popen(["/bin/sh", "-c", script])


def model(program: Program, out: str) -> tuple[Profile, dict[str, object], subprocess.CompletedProcess[str]]:
    work = prepare(program)
    noise = start_noise()
    try:
        done = _app(["model", "--name", program.name, "--out", out, "--", *program.command], cwd=work)
    finally:
        noise.kill()
        noise.wait()
    text = pathlib.Path(out, f"{program.name}.apparmor").read_text()
    document = json.loads(pathlib.Path(out, f"{program.name}.model.json").read_text())
    return parse_profile(text), document, done


def _owned(path: str) -> bool:
    try:
        return os.lstat(path.rstrip("/") or "/").st_uid == os.geteuid()
    except OSError:
        return True  # gone again: it was created by the (root) workload


def judge(profile: Profile, truth: strace_truth.Truth) -> tuple[int, list[str], list[str]]:
    """(requests checked, false denials, extra rules) of a profile against the ground truth."""
    denials, used = [], set()
    for path, letters in sorted(truth.files.items()):
        wanted = "".join(sorted(letters))
        for rule in profile.matching(path, _owned(path)):
            used.add(rule.pattern)
        if not profile.allows(path, wanted, _owned(path)):
            denials.append(f"{path} {wanted}")
    for path in sorted(truth.execs):
        used.update(r.pattern for r in profile.matching(path))
        if not profile.allows(path, "x"):
            denials.append(f"{path} x")
    denials += [f"capability {c}" for c in sorted(truth.capabilities - profile.capabilities)]
    extra = [r.pattern for r in profile.rules if r.pattern not in used]
    extra += [f"capability {c}" for c in sorted(profile.capabilities - truth.capabilities)]
    requests = len(truth.files) + len(truth.execs) + len(truth.capabilities)
    return requests, denials, extra


def leaks(document: dict[str, object]) -> list[str]:
    data = json.dumps(document.get("data", {}))
    return [OUTSIDE] if "varmor-fidelity-outside" in data else []


def replay(program: Program, seccomp: str) -> tuple[int, dict[str, int]]:
    work = prepare(program)
    done = _app(["verify", "--timeout", "120", "--seccomp", seccomp, "--", *program.command], cwd=work)
    denied = {line.split()[1]: int(line.split()[2][1:]) for line in done.stdout.splitlines()
              if line.startswith("denied: ")}
    return done.returncode, denied


def check(program: Program) -> Result:
    """Model, trace, replay and judge one program."""
    result = Result(program.name, program.kind)
    with tempfile.TemporaryDirectory(prefix="varmor-fidelity-") as out:
        profile, document, done = model(program, out)
        if done.returncode != 0:
            result.errors.append(f"model exited {done.returncode}: {done.stderr.strip()[-300:]}")
        result.leaked = leaks(document)
        work = prepare(program)
        log = os.path.join(out, "strace.log")
        result.traced_status = strace_truth.trace(program.command, work, log)
        with open(log, encoding="utf-8", errors="surrogateescape") as lines:
            truth = strace_truth.parse(lines, work)
        result.requests, result.false_denials, result.extra_rules = judge(profile, truth)
        seccomp = os.path.join(out, f"{program.name}.seccomp.json")
        result.replay_status, result.denied_syscalls = replay(program, seccomp)
    shutil.rmtree(os.path.join(WORK_ROOT, program.name), ignore_errors=True)
    return result
