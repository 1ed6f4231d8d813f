"""``NodeSimulator``: one simulated node's container runtime, driven by the kubelet loop.

``start_pod`` plays the CRI ``RunPodSandbox`` + ``CreateContainer``/``StartContainer`` calls: it makes
the pod's cgroup slice, starts the sandbox and every container through a shim (``running``) each, and
saves a ``PodRecord`` under ``state_dir`` after every step, so ``pod_status``, ``stop_pod``, an exec
session in another process and a restarted simulator all work from the files. Stopping sends SIGTERM to
every process of the pod's container cgroups, waits out the grace period, kills the cgroups with
``cgroup.kill`` and removes the directories and the record.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from localcluster.node import cgroups, records, statuses
from localcluster.node.pods import ContainerSpec, PodSpec, pod_spec
from localcluster.node.records import ContainerRecord, LaunchSpec, PodRecord
from localcluster.node.seccomp_profiles import ProfileError, parse_profile

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
TEARDOWN_TIMEOUT = 10.0


class NodeError(RuntimeError):
    """The node could not run a pod at all (its sandbox did not start)."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_ip() -> str:
    """The address other hosts would see (no packet is sent); loopback when offline."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


class NodeSimulator:
    """Runs the pods bound to one node as real process trees."""

    def __init__(self, node_name: str, state_dir: Path, seccomp_dir: Path) -> None:
        self.node_name = node_name
        self.state_dir = Path(state_dir)
        self.seccomp_dir = Path(seccomp_dir)
        self._root = cgroups.v2_root()
        self._host_ip = host_ip()
        self._shims: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.RLock()
        records.pods_dir(self.state_dir).mkdir(parents=True, exist_ok=True)

    def start_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        """Start the pod's sandbox and containers unless this node already runs it; return its status."""
        uid = pod["metadata"]["uid"]
        with self._lock:
            if records.load_pod(self.state_dir, uid) is None:
                self._create(pod_spec(pod, self._host_ip, self.node_name))
            status = self.pod_status(uid)
        assert status is not None
        return status

    def pod_status(self, uid: str) -> dict[str, Any] | None:
        """The pod's current status, or None when this node does not run it."""
        with self._lock:
            pod = records.load_pod(self.state_dir, uid)
            if pod is None:
                return None
            self._reap()
            seen = [self._observe(uid, c) for c in pod["containers"]]
        return statuses.pod_status(pod, seen)

    def stop_pod(self, uid: str, grace_seconds: float = 2.0) -> None:
        """SIGTERM, grace, SIGKILL every process of the pod; remove its cgroups and its record."""
        with self._lock:
            pod = records.load_pod(self.state_dir, uid)
            if pod is None:
                return
            self._terminate([pod], grace_seconds)
            self._teardown(pod)

    def shutdown(self, grace_seconds: float = 2.0) -> None:
        """Stop every pod of this node (all of them at once, sharing one grace period)."""
        with self._lock:
            pods = [p for u in records.uids(self.state_dir) if (p := records.load_pod(self.state_dir, u))]
            self._terminate(pods, grace_seconds)
            for pod in pods:
                self._teardown(pod)
            cgroups.remove_empty_slices(self._root)
            self._reap()

    # -- starting -------------------------------------------------------------------------------

    def _create(self, spec: PodSpec) -> None:
        folder = records.pod_dir(self.state_dir, spec.uid)
        folder.mkdir(parents=True, exist_ok=True)
        pod_slice = self._root / cgroups.pod_slice(spec.qos, spec.uid)
        _mkdir(pod_slice)
        sandbox_spec = ContainerSpec("POD", "registry.k8s.io/pause:3.10", (), (), "/", None, None)
        sandbox, _launch = self._prepare(spec, sandbox_spec, pod_slice, None)
        sandbox = self._handshake(self._spawn(folder, sandbox["id"]), sandbox)
        record = PodRecord(
            uid=spec.uid,
            namespace=spec.namespace,
            name=spec.name,
            node=self.node_name,
            qos=spec.qos,
            restartPolicy=spec.restart_policy,
            slice=str(pod_slice),
            hostIP=self._host_ip,
            startTime=sandbox["startedAt"],
            sandbox=sandbox,
            containers=[],
        )
        records.save_pod(self.state_dir, record)
        if "error" in sandbox:
            self._teardown(record)
            raise NodeError(f"pod sandbox of {spec.namespace}/{spec.name} did not start: {sandbox['error']}")
        prepared = [self._prepare(spec, c, pod_slice, sandbox["pid"]) for c in spec.containers]
        spawned = [(rec, self._spawn(folder, rec["id"]) if launch else None) for rec, launch in prepared]
        record["containers"] = [self._handshake(proc, rec) if proc else rec for rec, proc in spawned]
        records.save_pod(self.state_dir, record)
        log.info(
            "Started pod %s/%s uid=%s containers=%d",
            spec.namespace,
            spec.name,
            spec.uid,
            len(spec.containers),
        )

    def _prepare(
        self, pod: PodSpec, spec: ContainerSpec, pod_slice: Path, sandbox_pid: int | None
    ) -> tuple[ContainerRecord, LaunchSpec | None]:
        """The container's record and, unless its configuration is unusable, its launch file."""
        cid = secrets.token_hex(32)
        folder = records.pod_dir(self.state_dir, pod.uid)
        rec = ContainerRecord(
            name=spec.name,
            image=spec.image,
            id=cid,
            pid=0,
            shim_pid=0,
            cgroup=str(pod_slice / cgroups.scope_name(cid)),
            seccomp=spec.seccomp,
            seccomp_file=None,
            apparmor=spec.apparmor,
            argv=list(spec.argv),
            env=dict(spec.env),
            working_dir=spec.working_dir,
            startedAt=now(),
            restartCount=0,
            log=str(folder / f"{spec.name}.log"),
        )
        problem = spec.problem or self._snapshot_seccomp(spec, folder / f"{cid}.seccomp.json", rec)
        if problem:
            rec["error"] = {"reason": "CreateContainerConfigError", "message": problem}
            return rec, None
        _mkdir(Path(rec["cgroup"]))
        launch = _launch_spec(pod, rec, sandbox_pid, folder)
        records.write_json(folder / f"{cid}.launch.json", launch)
        return rec, launch

    def _snapshot_seccomp(self, spec: ContainerSpec, copy: Path, rec: ContainerRecord) -> str | None:
        """Copy a Localhost profile next to the record (as runc keeps it in config.json)."""
        if not spec.seccomp or not spec.seccomp.startswith("localhost/"):
            return None
        name = spec.seccomp.removeprefix("localhost/")
        source = (self.seccomp_dir / name).resolve()
        if not name or not source.is_relative_to(self.seccomp_dir.resolve()):
            return f"seccomp profile {name!r} is not inside the node's seccomp directory"
        try:
            text = source.read_text()
            parse_profile(text)
        except (OSError, ProfileError) as err:
            return f"cannot load seccomp profile {str(source)!r}: {err}"
        copy.write_text(text)
        rec["seccomp_file"] = str(copy)
        return None

    def _spawn(self, folder: Path, cid: str) -> subprocess.Popen[bytes]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(PROJECT_ROOT)}
        with open(folder / "shim.log", "ab") as shim_log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "localcluster.node.running", str(folder / f"{cid}.launch.json")],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=shim_log,
                env=env,
                cwd=PROJECT_ROOT,
                start_new_session=True,
            )
        self._shims[proc.pid] = proc
        return proc

    def _handshake(self, proc: subprocess.Popen[bytes], rec: ContainerRecord) -> ContainerRecord:
        """Wait for the shim's one line: the init's host pid once exec'd, or why it failed."""
        message = _read_line(proc.stdout, START_TIMEOUT) if proc.stdout else None
        if proc.stdout:
            proc.stdout.close()
        if message is None:
            proc.kill()  # the half-made init, if any, goes with its cgroup when the pod stops
        rec = ContainerRecord(**rec)
        rec["shim_pid"], rec["startedAt"] = proc.pid, now()
        if message and "pid" in message:
            rec["pid"] = int(message["pid"])
        else:
            reason = message["error"] if message else "the shim did not answer (see shim.log)"
            rec["error"] = {"reason": "StartError", "message": str(reason), "exitCode": 128}
        return rec

    # -- observing and stopping -----------------------------------------------------------------

    def _observe(self, uid: str, rec: ContainerRecord) -> statuses.Observed:
        end = records.load_exit(self.state_dir, uid, rec["id"]) if rec["pid"] else None
        alive = end is None and rec["pid"] > 0 and _shim_alive(rec["shim_pid"], rec["id"])
        return statuses.Observed(record=rec, exit=end, alive=alive)

    def _terminate(self, pods: list[PodRecord], grace_seconds: float) -> None:
        paths = [Path(c["cgroup"]) for p in pods for c in p["containers"]]
        for path in paths:
            cgroups.signal_all(path, signal.SIGTERM)
        if not cgroups.wait_empty(paths, time.monotonic() + grace_seconds):
            for path in paths:
                cgroups.kill(path)

    def _teardown(self, pod: PodRecord) -> None:
        """Kill what is left (the sandbox, exec sessions), remove cgroups, shims' exit, the record."""
        paths = [Path(c["cgroup"]) for c in [*pod["containers"], pod["sandbox"]]]
        for path in paths:
            cgroups.kill(path)
        deadline = time.monotonic() + TEARDOWN_TIMEOUT
        cgroups.wait_empty(paths, deadline)
        for path in [*paths, Path(pod["slice"])]:
            cgroups.remove(path)
        for rec in [*pod["containers"], pod["sandbox"]]:
            self._wait_shim(rec, deadline)
        shutil.rmtree(records.pod_dir(self.state_dir, pod["uid"]), ignore_errors=True)
        log.info("Stopped pod %s/%s uid=%s", pod["namespace"], pod["name"], pod["uid"])

    def _wait_shim(self, rec: ContainerRecord, deadline: float) -> None:
        proc = self._shims.pop(rec["shim_pid"], None)
        if proc is not None:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            return
        while rec["shim_pid"] and _shim_alive(rec["shim_pid"], rec["id"]) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _reap(self) -> None:
        for pid, proc in list(self._shims.items()):
            if proc.poll() is not None:
                del self._shims[pid]


def _launch_spec(pod: PodSpec, rec: ContainerRecord, sandbox_pid: int | None, folder: Path) -> LaunchSpec:
    """The shim's instructions: the sandbox makes the pod's namespaces, containers join them."""
    ns = f"/proc/{sandbox_pid}/ns" if sandbox_pid else None
    return LaunchSpec(
        kind="sandbox" if sandbox_pid is None else "container", cgroup=rec["cgroup"],
        argv=rec["argv"], env=rec["env"], working_dir=rec["working_dir"], hostname=pod.name,
        join_pid=f"{ns}/pid" if ns and pod.share_process_namespace else None,
        join_uts=f"{ns}/uts" if ns else None, join_ipc=f"{ns}/ipc" if ns else None,
        seccomp_file=rec["seccomp_file"], log=rec["log"], exit_file=str(folder / f"{rec['id']}.exit.json"),
    )


def _mkdir(path: Path) -> None:
    """mkdir -p that tolerates a concurrent shutdown removing an empty parent slice."""
    for _ in range(5):
        try:
            path.mkdir(parents=True, exist_ok=True)
            return
        except FileNotFoundError:
            continue
    path.mkdir(parents=True, exist_ok=True)


def _read_line(stream: IO[bytes], timeout: float) -> dict[str, Any] | None:
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return None
    line = stream.readline()
    try:
        message: dict[str, Any] = json.loads(line)
    except ValueError:
        return None
    return message


def _shim_alive(pid: int, container_id: str) -> bool:
    """Whether the shim of ``container_id`` still runs (pids are checked against its command line)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return container_id.encode() in cmdline
