"""Running the local cluster as a process: foreground, detached, and stopping it.

The cluster's directory holds ``kubeconfig``, ``pid``, ``localcluster.log`` (detached runs), the
node simulators' state (``nodes/``) and their seccomp directory (``seccomp/``). ``down`` signals the
recorded pid and waits: the cluster's shutdown stops every pod through the node simulators.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import time

from localcluster.cluster import Cluster, Settings
from localcluster.kubeconfig import write_kubeconfig
from localcluster.pauses import keep_collections_short


def paths(state_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    return {
        "kubeconfig": state_dir / "kubeconfig",
        "pid": state_dir / "pid",
        "log": state_dir / "localcluster.log",
    }


async def _serve(settings: Settings) -> None:
    cluster = Cluster(settings)
    files = paths(settings.state_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    url = await cluster.start()
    keep_collections_short()
    try:
        write_kubeconfig(files["kubeconfig"], url)
        files["pid"].write_text(f"{os.getpid()}\n")
        print(files["kubeconfig"], flush=True)
        await stop.wait()
    finally:
        await cluster.stop()
        files["pid"].unlink(missing_ok=True)


def serve_foreground(settings: Settings) -> int:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(_serve(settings))
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def read_pid(state_dir: pathlib.Path) -> int | None:
    """The recorded cluster pid while that process is still this directory's cluster (pids are reused)."""
    try:
        pid = int(paths(state_dir)["pid"].read_text().strip())
        cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    argv = cmdline.split(b"\0")
    ours = b"localcluster" in argv and b"up" in argv
    return pid if ours and _alive(pid) else None


def start_detached(argv: list[str], state_dir: pathlib.Path, timeout: float = 30.0) -> pathlib.Path:
    """Start ``argv`` (a foreground ``up``) in a new session; return the kubeconfig once it serves."""
    state_dir.mkdir(parents=True, exist_ok=True)
    files = paths(state_dir)
    files["pid"].unlink(missing_ok=True)
    with files["log"].open("ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_pid(state_dir) == proc.pid:
            return files["kubeconfig"]
        if proc.poll() is not None:
            raise RuntimeError(f"local cluster exited with {proc.returncode}; see {files['log']}")
        time.sleep(0.1)
    proc.terminate()
    raise TimeoutError(f"local cluster did not start in {timeout:.0f}s; see {files['log']}")


def stop(state_dir: pathlib.Path, timeout: float = 30.0) -> bool:
    """SIGTERM the recorded cluster and wait for it (SIGKILL after ``timeout``); False if none ran."""
    pid = read_pid(state_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    paths(state_dir)["pid"].unlink(missing_ok=True)
    return True


def up_argv(args_without_detach: list[str]) -> list[str]:
    app = pathlib.Path(__file__).resolve().parent.parent / "app.py"
    return [sys.executable, str(app), "localcluster", "up", *args_without_detach]
