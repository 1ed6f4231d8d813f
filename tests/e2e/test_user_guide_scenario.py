"""``app.py demo`` — the user guide's BehaviorModeling scenario on the local cluster — run as a user
runs it (``make demo``), its output checked against what the guide shows.

Every part is the product's: the local cluster's containerd nodes, the chart's webhook
registrations, the real manager and one real agent per node, installed from the Helm chart as pods
from the image; the demo only types the guide's
kubectl commands. The cluster is taken down at the end and nothing of it is left running.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def section(output: str, start: str, end: str) -> str:
    return output.split(start, 1)[1].split(end, 1)[0]


def test_the_demo_plays_the_guide_and_prints_its_profiles() -> None:
    done = subprocess.run([sys.executable, "app.py", "demo"], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200)
    output = done.stdout
    assert done.returncode == 0, output[-4000:] + done.stderr[-2000:]
    status_lines = [line.split() for line in output.splitlines() if line.strip().startswith("demo-4   ")]
    assert status_lines[0][-3:-1] == ["true", "Modeling"]
    assert status_lines[-1][-3:-1] == ["true", "Completed"]
    assert "varmor-cluster-varmor-demo-4" in status_lines[0]
    apparmor = section(output, "## == Managed by vArmor == ##", "}\n")
    for rule in ("/usr/bin/id ix,", "/usr/bin/unshare ix,", "owner /etc/shadow r,", "owner /root/c1 rw,",
                 "capability sys_admin,", "profile varmor-cluster-varmor-demo-4 flags="):
        assert rule in apparmor, apparmor
    assert "/root/c0" not in apparmor
    seccomp = output.split("seccompContent}' | base64 -d | jq", 1)[1]
    assert '"unshare"' in seccomp and '"SCMP_ACT_ERRNO"' in seccomp
    assert "The guide ran in" in output
    # varmor-py ran as the chart's pods: the manager and an agent on each of the two nodes, Ready.
    rows = [line.split() for line in section(output, "varmor-py runs as pods", "done in").splitlines()]
    ready = [cols[0] for cols in rows if cols[1:3] == ["1/1", "Running"]]
    assert [name.startswith("varmor-manager-") for name in ready].count(True) == 1, rows
    assert [name.startswith("varmor-agent-") for name in ready].count(True) == 2, rows
    assert "capability dac_override" not in apparmor and "capability dac_read_search" not in apparmor
    leftovers = subprocess.run(["pgrep", "-f", "varmor-demo-"], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == ""
