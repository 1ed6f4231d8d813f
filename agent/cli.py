"""``app.py agent``: the node agent, one per node (the chart's DaemonSet, ``hostPID``, privileged).

Checks the node's requirements, then follows the ArmorProfiles of every namespace and the pods of
its node: installs their profiles into the kubelet's seccomp root (and AppArmor where the kernel
has it), records the wired containers of every open modeling window with one eBPF tracer, and
delivers each window's BehaviorData to the leader's status service. Ready on
``GET /health/readiness`` once both informers have listed.

examples:
    app.py agent                                   # in the DaemonSet: NODE_NAME from the downward API
    app.py agent --kubeconfig kc --nodeName node-1 --stateDir /tmp/agent --seccompRoot /tmp/seccomp
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import pathlib
import signal
import threading
from typing import Any

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("examples:", 1)[1] if __doc__ else None
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: the in-cluster ServiceAccount)")
    parser.add_argument("--nodeName", default=env.get("NODE_NAME", ""), help="this node (env NODE_NAME)")
    parser.add_argument("--namespace", default=env.get("POD_NAMESPACE", "varmor"),
                        help="install namespace (env POD_NAMESPACE, default varmor)")
    parser.add_argument("--enableBehaviorModeling", action="store_true", help="record modeling windows")
    parser.add_argument("--seccompRoot", default="/var/lib/kubelet/seccomp", help="kubelet's seccomp root")
    parser.add_argument("--apparmorDir", default="/etc/apparmor.d", help="AppArmor profiles' directory")
    parser.add_argument("--stateDir", default="/var/lib/varmor", help="snapshots and delivery marks")
    parser.add_argument("--containerdSocket", default="/run/containerd/containerd.sock")
    parser.add_argument("--cgroupRoot", default="", help="cgroup v2 mount (default: found)")
    parser.add_argument("--auditLogPaths", default="/var/log/audit/audit.log|/var/log/kern.log",
                        help="audit logs, the first existing one is followed (A|B); empty: none")
    parser.add_argument("--statusService", default="",
                        help="status service URL (default: the leader manager pod, found through the API)")
    parser.add_argument("--tokenPath", default="/var/run/secrets/tokens/bound-token",
                        help="projected ServiceAccount token of audience varmor-manager")
    parser.add_argument("--reportRate", type=rate, default=100.0, metavar="PER_SECOND",
                        help="cluster-wide reports/s: each node delivers a window's data at its end plus "
                             "a slot in [0, nodes/rate) (at most 60 s) from its name; 0: at the end "
                             "(default 100)")
    parser.add_argument("--readinessPort", type=int, default=int(env.get("AGENT_READINESS_PORT", "9580")))
    parser.add_argument("--skipChecks", action="store_true", help=argparse.SUPPRESS)


def rate(text: str) -> float:
    """A report rate: a finite number >= 0 (argparse turns the ValueError into one clear error)."""
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError(text)
    return value


def run(args: argparse.Namespace) -> int:
    from agent import checks, wiring

    if not args.nodeName:
        print("error: the node name is unknown: set NODE_NAME or --nodeName")
        return 2
    paths = checks.NodePaths()
    runtime = wiring.runtime(args, paths)
    failures = [] if args.skipChecks else checks.failed_checks(paths, runtime.version, args.containerdSocket)
    if failures:
        for message in failures:
            print(f"error: {message}")
        return 2
    agent, informers, readiness = wiring.build(args, runtime)
    stop = agent.stop

    def terminate(_signum: int, _frame: Any) -> None:
        stop.set()
        agent.poke()

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    for informer in informers:
        informer.start()
    for informer in informers:
        while not informer.synced.wait(1.0):
            if stop.is_set():
                return 0
    readiness.ready.set()
    log.info("Agent started node=%s modeling=%s", args.nodeName, args.enableBehaviorModeling)
    agent.run()
    for informer in informers:
        informer.stop()
    readiness.shutdown()
    return 0


class Readiness(threading.Thread):
    """``GET /health/readiness``: 200 once ``ready`` is set, 503 before."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True, name="readiness")
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.ready = threading.Event()
        ready = self.ready

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                ok = self.path == "/health/readiness" and ready.is_set()
                self.send_response(200 if ok else (503 if self.path == "/health/readiness" else 404))
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"not ready")

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("0.0.0.0", port), Handler)

    def run(self) -> None:
        self.server.serve_forever()

    def shutdown(self) -> None:
        self.server.shutdown()


def default_paths(args: argparse.Namespace) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    return pathlib.Path(args.seccompRoot), pathlib.Path(args.apparmorDir), pathlib.Path(args.stateDir)
