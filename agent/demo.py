"""``app.py demo`` (``make demo``): model the shipped workload, print its profiles, verify.

The workload (``agent/demo_workload.sh``) exercises every event class. It is modeled with
the real tracer exactly as ``app.py model`` would, both generated profiles are printed, and
then the workload runs a second time under the generated seccomp profile, which must succeed.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

from agent import confine, localmode

WORKLOAD = pathlib.Path(__file__).with_name("demo_workload.sh")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="", metavar="DIR",
                        help="keep the profiles in DIR (default: a temp dir)")


def banner(title: str) -> None:
    print(f"\n===== {title} =====", flush=True)


def run(args: argparse.Namespace) -> int:
    out = args.out or tempfile.mkdtemp(prefix="varmor-demo-")
    work = tempfile.mkdtemp(prefix="varmor-demo-work-", dir="/var/tmp")
    cmd = ["/bin/sh", str(WORKLOAD), work]
    client = localmode.TracerClient()
    banner(f"Modeling {' '.join(cmd)}")
    try:
        status = localmode.run_traced(client, "demo", cmd, 120.0, lambda: None)
    finally:
        client.close()
    events = client.of("demo")
    outputs = localmode.build_outputs("demo", events)
    written = localmode.write_outputs(out, "demo", outputs.files)
    counts = localmode.counts(events)
    print(f"exit status {status}; recorded " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print("losses: " + ", ".join(f"{k}={v}" for k, v in localmode.losses(events).items()))
    for line in outputs.notes + [f"warning: {w}" for w in outputs.warnings]:
        print(line)
    if outputs.errors or ".seccomp.json" not in outputs.files:
        errors = outputs.errors or ["no seccomp profile"]
        print("\n".join(f"error: {e}" for e in errors), file=sys.stderr)
        return 1
    banner("AppArmor profile (demo.apparmor), accepted by apparmor_parser -Q -K")
    print(outputs.files[".apparmor"])
    banner("Seccomp profile (demo.seccomp.json)")
    profile = json.loads(outputs.files[".seccomp.json"])
    print(json.dumps(profile, indent=1))
    banner("Second run under the seccomp profile")
    second = confine.run_confined(profile, cmd, timeout=120.0)
    denied = sum(second.denied.values())
    ok = second.status == 0 and not denied and not second.timed_out
    print(f"second run {'succeeded' if ok else 'FAILED'}: exit status {second.status}, "
          f"{denied} denied syscall(s)" + "".join(f"\n  denied: {n} x{c}" for n, c in second.denied.items()))
    print("profiles written: " + ", ".join(written))
    sys.stdout.flush()
    return 0 if status == 0 and ok else 1
