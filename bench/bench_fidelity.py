"""Profile fidelity of real Debian programs (``bench.fidelity``), three runs each.

Per program: ground-truth requests checked (``strace -f``), false denials of the generated
AppArmor profile (judged by ``bench.apparmor_match``), extra rules, syscalls denied when the
program replays under its own seccomp profile, and anything from outside the target that
reached the model. The false denials are listed by kind so that the tracer-side causes
(directories without ``/``, untraced mkdir/symlink, script execs, ...) stay visible.
"""

from __future__ import annotations

import collections

from bench.fidelity import PROGRAMS, Result, check

RUNS = 3


def _kind(denial: str) -> str:
    path, _, letters = denial.rpartition(" ")
    if denial.startswith("capability"):
        return "capability"
    if letters == "x":
        return "exec"
    if path.endswith("/"):
        return "directory"
    return "file " + letters


def _row(name: str, kind: str, runs: list[Result]) -> str:
    def span(values: list[int]) -> str:
        return str(values[0]) if min(values) == max(values) else f"{min(values)}–{max(values)}"

    denied = [sum(r.denied_syscalls.values()) for r in runs]
    return (f"| {name} | {kind} | {span([r.requests for r in runs])} | "
            f"{span([len(r.false_denials) for r in runs])} | {span([len(r.extra_rules) for r in runs])} | "
            f"{span(denied)} | {span([len(r.leaked) for r in runs])} |")


def main() -> str:
    results: dict[str, list[Result]] = collections.defaultdict(list)
    for _ in range(RUNS):
        for program in PROGRAMS:
            results[program.name].append(check(program))
    lines = [
        "## Profile fidelity (real programs, `app.py model` vs `strace -f`)", "",
        f"{len(PROGRAMS)} programs from Debian packages, {RUNS} runs each (ranges over runs). "
        "Requests: distinct ground-truth file accesses, execs and capabilities. False denials: requests "
        "the generated AppArmor profile would deny (AppArmor rule matcher). Extra rules: profile rules "
        "no request used. Denied syscalls: calls denied when the program replays under its own seccomp "
        "profile (`app.py verify`). Leaks: records from a noise loop outside the target.", "",
        "| program | kind | requests | false denials | extra rules | denied syscalls on replay | leaks |",
        "|---|---|---|---|---|---|---|",
    ]
    for program in PROGRAMS:
        lines.append(_row(program.name, program.kind, results[program.name]))
    every = [r for runs in results.values() for r in runs]
    kinds = collections.Counter(_kind(d) for r in every for d in r.false_denials)
    lines += ["", f"Totals over all runs: {sum(r.requests for r in every)} requests, "
              f"{sum(len(r.false_denials) for r in every)} false denials, "
              f"{sum(sum(r.denied_syscalls.values()) for r in every)} denied syscalls, "
              f"{sum(len(r.leaked) for r in every)} leaks, {sum(len(r.errors) for r in every)} errors.", "",
              "False denials by kind (all runs): "
              + (", ".join(f"{k} {n}" for k, n in kinds.most_common()) or "none") + ".", "",
              "Measured on the `gen` branch, before the tracer-side fixes of issue 9 (directory `/`, "
              "mkdir/symlink tracing, exec rules for scripts, no-audit capability filter, failed calls). "
              "First run's false denials per program:", ""]
    for program in PROGRAMS:
        first = results[program.name][0]
        shown = ", ".join(f"`{d}`" for d in first.false_denials[:8])
        more = f" (+{len(first.false_denials) - 8})" if len(first.false_denials) > 8 else ""
        denied: collections.Counter[str] = collections.Counter()
        for run in results[program.name]:
            denied.update(run.denied_syscalls)
        lines.append(f"- {program.name}: {shown or 'none'}{more}"
                     + (f"; denied on replay: {dict(denied)}" if denied else "")
                     + (f"; errors: {'; '.join(first.errors)}" if first.errors else ""))
    return "\n".join(lines)
