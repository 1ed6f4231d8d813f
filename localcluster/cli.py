"""``python app.py localcluster up|down|exec``: run the embedded cluster and enter its containers.

Examples:
    python app.py localcluster up --nodes 2              # foreground; Ctrl-C stops it
    python app.py localcluster up --detach               # prints the kubeconfig path
    KUBECONFIG=/tmp/varmor-localcluster/kubeconfig kubectl get pods -A
    python app.py localcluster exec -n default demo-4-abc -c c0 -- id
    python app.py localcluster down

Heavy modules are imported inside ``run`` so ``app.py --help`` stays fast.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

DEFAULT_DIR = pathlib.Path("/tmp/varmor-localcluster")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = sub.add_parser("up", help="start the cluster (foreground unless --detach)")
    up.add_argument("--dir", type=pathlib.Path, default=DEFAULT_DIR, help="state directory (kubeconfig, pid)")
    up.add_argument("--nodes", type=int, default=1, help="number of simulated nodes (node-1, node-2, ...)")
    up.add_argument(
        "--detach", action="store_true", help="run in the background and print the kubeconfig path"
    )
    up.add_argument("--port", type=int, default=0, help="API port on 127.0.0.1 (0 picks a free one)")
    up.add_argument(
        "--service-map",
        action="append",
        default=[],
        metavar="NS/NAME=HOST:PORT",
        help="where a webhook service reference is served (repeatable)",
    )
    up.add_argument(
        "--node-simulator",
        choices=["auto", "process", "status-only"],
        default="auto",
        help="process: run pods as real processes (root); status-only: report them Running",
    )
    down = sub.add_parser("down", help="stop the cluster and every pod it runs")
    down.add_argument("--dir", type=pathlib.Path, default=DEFAULT_DIR)
    ex = sub.add_parser("exec", help="run a command inside a pod's container (like kubectl exec)")
    ex.add_argument("--dir", type=pathlib.Path, default=DEFAULT_DIR)
    ex.add_argument("-n", "--namespace", default="default")
    ex.add_argument("pod")
    ex.add_argument("-c", "--container", required=True)
    ex.add_argument("cmd", nargs="*", metavar="-- CMD [ARGS...]")


def _up(args: argparse.Namespace) -> int:
    from localcluster import daemon
    from localcluster.cluster import Settings
    from localcluster.nodes import simulator_factory

    state_dir = args.dir.resolve()
    if daemon.read_pid(state_dir) is not None:
        print(f"a local cluster already runs from {state_dir}", file=sys.stderr)
        return 1
    if args.detach:
        forwarded = [
            "--dir",
            str(state_dir),
            "--nodes",
            str(args.nodes),
            "--port",
            str(args.port),
            "--node-simulator",
            args.node_simulator,
        ]
        forwarded += [f"--service-map={entry}" for entry in args.service_map]
        print(daemon.start_detached(daemon.up_argv(forwarded), state_dir))
        return 0
    service_map = dict(entry.split("=", 1) for entry in args.service_map)
    settings = Settings(
        state_dir=state_dir,
        port=args.port,
        nodes=args.nodes,
        service_map=service_map,
        node_factory=simulator_factory(args.node_simulator),
    )
    return daemon.serve_foreground(settings)


def _exec(args: argparse.Namespace) -> int:
    from localcluster.nodes import exec_function

    argv = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not argv:
        print("usage: localcluster exec -n NS POD -c CONTAINER -- CMD [ARGS...]", file=sys.stderr)
        return 2
    try:
        return exec_function()(args.dir.resolve() / "nodes", args.namespace, args.pod, args.container, argv)
    except LookupError as error:  # ContainerNotFound: unknown pod or container, or not running
        print(f"error: {error}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    if args.action == "up":
        return _up(args)
    if args.action == "down":
        from localcluster import daemon

        stopped = daemon.stop(args.dir.resolve())
        print("stopped" if stopped else f"no local cluster runs from {args.dir}")
        return 0
    return _exec(args)
