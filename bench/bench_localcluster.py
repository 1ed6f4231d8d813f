"""The local cluster's nodes: containerd (CRI) nodes beside the process nodes they replace.

Three figures for each node kind, in one run:
1. ``up`` → first kubectl answer: ``app.py localcluster up --detach`` spawned, then ``kubectl get
   nodes`` until it answers (median of 3 cold starts; ``down`` between them).
2. pod create → Running for the user guide's two demo-4 Deployments (4 pods, 6 containers), from
   ``kubectl create -f`` to every pod Ready: on a fresh cluster (containerd imports the cached
   recipe images on first use) and again after deleting them (images present).
3. exec round trip: ``kubectl exec POD -c c1 -- true`` on containerd nodes; on process nodes the
   command they offered, ``app.py localcluster exec`` (median of 10).
Recipe images are built beforehand (cached under /var/cache/varmor-py/images), as ``make demo`` does.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from localcluster.cluster import ClusterThread, Settings
from localcluster.kubeconfig import write_kubeconfig
from localcluster.nodes import simulator_factory
from localcluster.runtime import imagebuild, images

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "localcluster" / "fixtures"
KINDS = ("process", "containerd")


def _kubectl(
    kubeconfig: pathlib.Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.run(
        ["kubectl", *args], input=stdin, capture_output=True, text=True, env=env, check=False
    )


def _until(probe: Callable[[], bool], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not met")
        time.sleep(0.02)


def up_to_first_answer(kind: str) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-lc-") as tmp:
        app = [sys.executable, str(ROOT / "app.py"), "localcluster"]
        started = time.perf_counter()
        subprocess.run(
            [*app, "up", "--detach", "--dir", tmp, "--node-simulator", kind], check=True, capture_output=True
        )
        kubeconfig = pathlib.Path(tmp) / "kubeconfig"
        _until(lambda: _kubectl(kubeconfig, "get", "nodes").returncode == 0)
        elapsed = time.perf_counter() - started
        subprocess.run([*app, "down", "--dir", tmp], check=True, capture_output=True)
    return elapsed


def _all_ready(kubeconfig: pathlib.Path) -> bool:
    out = _kubectl(kubeconfig, "get", "pods", "-A", "-l", "app=demo-4", "--no-headers").stdout.split("\n")
    rows = [line.split() for line in out if line.strip()]
    return len(rows) == 4 and all(r[3] == "Running" and r[2] in ("1/1", "2/2") for r in rows)


def create_to_running(kubeconfig: pathlib.Path) -> float:
    started = time.perf_counter()
    for name in ("demo-4-default.yaml", "demo-4-demo.yaml"):
        created = _kubectl(kubeconfig, "create", "-f", str(FIXTURES / name))
        if created.returncode != 0:
            raise RuntimeError(created.stderr)
    _until(lambda: _all_ready(kubeconfig))
    return time.perf_counter() - started


def _delete(kubeconfig: pathlib.Path) -> None:
    for ns in ("default", "demo"):
        _kubectl(kubeconfig, "delete", "deployment", "demo-4", "-n", ns, "--wait=false")
    def gone(kind: str) -> Callable[[], bool]:
        return lambda: not _kubectl(kubeconfig, "get", kind, "-A", "-l", "app=demo-4", "--no-headers").stdout

    for kind in ("deployments", "replicasets", "pods"):
        _until(gone(kind))


def _exec_argv(kind: str, state: pathlib.Path, pod: str) -> list[str]:
    if kind == "containerd":
        return [
            "kubectl",
            "--kubeconfig",
            str(state / "kubeconfig"),
            "exec",
            "-n",
            "demo",
            pod,
            "-c",
            "c1",
            "--",
            "true",
        ]
    code = (
        "import sys; from localcluster.node import exec_in_container; "
        f"sys.exit(exec_in_container({str(state / 'nodes')!r}, 'demo', {pod!r}, 'c1', ['true']))"
    )
    return [sys.executable, "-c", code]  # what `app.py localcluster exec` ran on process nodes


def cluster_figures(kind: str) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-lc-") as tmp:
        state = pathlib.Path(tmp)
        thread = ClusterThread(Settings(state_dir=state, nodes=2, node_factory=simulator_factory(kind)))
        thread.start()
        try:
            kubeconfig = write_kubeconfig(state / "kubeconfig", thread.cluster.url)
            _kubectl(
                kubeconfig,
                "create",
                "-f",
                "-",
                stdin="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n",
            )
            cold = create_to_running(kubeconfig)
            _delete(kubeconfig)
            warm = create_to_running(kubeconfig)
            pod = _kubectl(
                kubeconfig, "get", "pods", "-n", "demo", "-o", "jsonpath={.items[0].metadata.name}"
            ).stdout
            argv = _exec_argv(kind, state, pod)
            rounds = []
            for _ in range(10):
                started = time.perf_counter()
                subprocess.run(
                    argv,
                    check=True,
                    capture_output=True,
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
                rounds.append(time.perf_counter() - started)
        finally:
            thread.stop()
    return cold, warm, statistics.median(rounds)


def main() -> str:
    for name in ("debian:10", "curlimages/curl:7.87.0", images.PAUSE_IMAGE):
        recipe = images.recipe_for(name)
        assert recipe is not None
        imagebuild.build(recipe)
    rows: dict[str, list[float]] = {}
    for kind in KINDS:
        up = statistics.median(up_to_first_answer(kind) for _ in range(3))
        rows[kind] = [up, *cluster_figures(kind)]
    base = rows["process"]
    lines = [
        "## Local cluster nodes: containerd (CRI) vs process nodes",
        "",
        "`up` → first `kubectl get nodes` answer (median of 3); the guide's two demo-4 Deployments from "
        "`kubectl create` to 4 pods Running (fresh cluster, then again with images present); exec round "
        "trip (`kubectl exec ... -- true` on containerd nodes, `localcluster exec` on process nodes; "
        "median of 10). Seconds; ratio = containerd / process.",
        "",
        "| figure | process nodes | containerd nodes | ratio |",
        "|---|---:|---:|---:|",
    ]
    labels = (
        "up → first kubectl answer",
        "create → Running, fresh cluster",
        "create → Running, images present",
        "exec round trip",
    )
    for i, label in enumerate(labels):
        ratio = rows["containerd"][i] / base[i] if base[i] else float("nan")
        lines.append(f"| {label} | {base[i]:.2f} | {rows['containerd'][i]:.2f} | {ratio:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
