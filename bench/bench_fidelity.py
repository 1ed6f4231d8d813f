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
CAPABILITY_NOTE = (
    "An extra capability is one the kernel checked with audit on (an audit-based recorder logs it "
    "too) but that strace cannot show: `git` hard-links its read-only (0444) objects, and with "
    "`fs.protected_hardlinks` the kernel's `may_linkat` asks `inode_permission(MAY_READ | MAY_WRITE)`, "
    "whose `generic_permission` makes an audited `CAP_DAC_OVERRIDE` check for root before it falls "
    "back to the owner test (kernel stack `cap_capable ← capable_wrt_inode_uidgid ← generic_permission "
    "← may_linkat ← do_linkat`).")


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
              "False denials per program (every run, with the number of runs that had each) and the "
              "capabilities a run's profile granted beyond the ground truth (see the note below):", ""]
    for program in PROGRAMS:
        runs = collections.Counter(d for r in results[program.name] for d in set(r.false_denials))
        shown = ", ".join(f"`{d}` ×{n}" for d, n in sorted(runs.items())[:8])
        more = f" (+{len(runs) - 8})" if len(runs) > 8 else ""
        first = results[program.name][0]
        denied: collections.Counter[str] = collections.Counter()
        for run in results[program.name]:
            denied.update(run.denied_syscalls)
        caps = sorted({e for run in results[program.name] for e in run.extra_rules
                       if e.startswith("capability")})
        lines.append(f"- {program.name}: {shown or 'none'}{more}"
                     + (f"; extra {', '.join(f'`{c}`' for c in caps)}" if caps else "")
                     + (f"; denied on replay: {dict(denied)}" if denied else "")
                     + (f"; errors: {'; '.join(first.errors)}" if first.errors else ""))
    if any(e.startswith("capability") for r in every for e in r.extra_rules):
        lines += ["", CAPABILITY_NOTE]
    return "\n".join(lines)
