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

from agent import localmode, verifying

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
    written = localmode.write_outputs(out, "demo", outputs)
    counts = localmode.counts(events)
    print(f"exit status {status}; recorded " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print("losses: " + ", ".join(f"{k}={v}" for k, v in localmode.losses(events).items()))
    banner("AppArmor profile (demo.apparmor)")
    print(outputs[".apparmor"])
    banner("Seccomp profile (demo.seccomp.json)")
    profile = json.loads(outputs[".seccomp.json"])
    print(json.dumps(profile, indent=1))
    banner("Second run under the seccomp profile")
    second = verifying.run_confined(profile, cmd)
    print(f"second run {'succeeded' if second == 0 else f'FAILED with exit status {second}'}")
    print("profiles written: " + ", ".join(written))
    sys.stdout.flush()
    return 0 if status == 0 and second == 0 else 1
