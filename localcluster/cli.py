"""``python app.py localcluster up|down|exec|image``: run the embedded cluster and use it.

Examples:
    python app.py localcluster up --nodes 2              # foreground; Ctrl-C stops it
    python app.py localcluster up --detach               # prints the kubeconfig path
    python app.py localcluster up --detach --install-varmor --set behaviorModeling.enabled=true
        # varmor-py from the chart, manager and agents as pods from `make image`; waits until Ready
    KUBECONFIG=/tmp/varmor-localcluster/kubeconfig kubectl get pods -A
    python app.py localcluster exec -n default demo-4-abc -c c0 -- id   # = kubectl exec
    python app.py localcluster image import my-image.tar  # an OCI or docker archive
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
        choices=["auto", "containerd", "process", "status-only"],
        default="auto",
        help="containerd: run pods through CRI on the cluster's own containerd (root; the default "
        "when installed); process: host processes in namespaces; status-only: report them Running",
    )
    up.add_argument(
        "--install-varmor",
        action="store_true",
        help="with --detach: import the varmor-py image (make image) and install the Helm chart "
        "manifests/varmor; returns once the manager and an agent per node are Ready",
    )
    up.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="KEY=VALUE",
        help="a chart value for --install-varmor, as helm --set takes it (repeatable)",
    )
    down = sub.add_parser("down", help="stop the cluster and every pod it runs")
    down.add_argument("--dir", type=pathlib.Path, default=DEFAULT_DIR)
    ex = sub.add_parser("exec", help="kubectl exec with the cluster's kubeconfig")
    ex.add_argument("--dir", type=pathlib.Path, default=DEFAULT_DIR)
    ex.add_argument("-n", "--namespace", default="default")
    ex.add_argument("-i", "--stdin", action="store_true")
    ex.add_argument("-t", "--tty", action="store_true")
    ex.add_argument("pod")
    ex.add_argument("-c", "--container")
    ex.add_argument("cmd", nargs="*", metavar="-- CMD [ARGS...]")
    image = sub.add_parser("image", help="manage the cluster's images")
    image_sub = image.add_subparsers(dest="image_action", required=True, metavar="ACTION")
    imp = image_sub.add_parser("import", help="import an OCI or docker image archive into the cluster")
    imp.add_argument("--dir", type=pathlib.Path, default=DEFAULT_DIR)
    imp.add_argument("archive", type=pathlib.Path)


def _up(args: argparse.Namespace) -> int:
    from localcluster import daemon
    from localcluster.cluster import Settings
    from localcluster.nodes import simulator_factory

    state_dir = args.dir.resolve()
    if (args.install_varmor or args.sets) and not args.detach:
        print("error: --install-varmor and --set need --detach", file=sys.stderr)
        return 2
    if args.sets and not args.install_varmor:
        print("error: --set is for --install-varmor", file=sys.stderr)
        return 2
    if args.install_varmor and (error := _check_sets(args.sets)):
        print(f"error: {error}", file=sys.stderr)
        return 2
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
        kubeconfig = daemon.start_detached(daemon.up_argv(forwarded), state_dir)
        if args.install_varmor:
            return _install(state_dir, Settings(state_dir=state_dir, nodes=args.nodes).node_names, args.sets)
        print(kubeconfig)
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


def _check_sets(sets: list[str]) -> str:
    from localcluster.charts import ChartError, values_from_sets

    try:
        values_from_sets(sets)
    except ChartError as error:
        return str(error)
    return ""


def _install(state_dir: pathlib.Path, nodes: list[str], sets: list[str]) -> int:
    from localcluster.charts import ChartError
    from localcluster.installing import InstallError, install

    try:
        install(state_dir, nodes, sets)
    except (InstallError, ChartError) as error:
        print(f"error: {error}", file=sys.stderr)
        print(f"the cluster is still up (logs: {state_dir}); stop it with: "
              f"python app.py localcluster down --dir {state_dir}", file=sys.stderr)
        return 1
    print(f"varmor-py is installed and Ready; now: export KUBECONFIG={state_dir / 'kubeconfig'}")
    return 0


def _exec(args: argparse.Namespace) -> int:
    """A thin wrapper over ``kubectl exec``: the session runs through containerd, not in this process."""
    import os
    import shutil

    argv = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    kubeconfig = args.dir.resolve() / "kubeconfig"
    if not argv:
        print(
            "usage: localcluster exec [-n NS] [-i] [-t] POD [-c CONTAINER] -- CMD [ARGS...]", file=sys.stderr
        )
        return 2
    kubectl = shutil.which("kubectl")
    if kubectl is None or not kubeconfig.exists():
        print(f"error: needs kubectl and a running cluster's {kubeconfig}", file=sys.stderr)
        return 1
    flags = ["-i"] * args.stdin + ["-t"] * args.tty + (["-c", args.container] if args.container else [])
    os.execv(
        kubectl,
        [
            "kubectl",
            "--kubeconfig",
            str(kubeconfig),
            "exec",
            "-n",
            args.namespace,
            *flags,
            args.pod,
            "--",
            *argv,
        ],
    )


def _image_import(args: argparse.Namespace) -> int:
    from localcluster.runtime.containerd import Layout, import_archive

    socket = Layout(args.dir.resolve() / "containerd").socket
    if not socket.exists():
        print(f"error: no local cluster with containerd runs from {args.dir}", file=sys.stderr)
        return 1
    if not args.archive.is_file():
        print(f"error: {args.archive} is not a file", file=sys.stderr)
        return 1
    try:
        names = import_archive(socket, args.archive.resolve())
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for name in names:
        print(f"imported {name}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "up":
        return _up(args)
    if args.action == "down":
        from localcluster import daemon

        stopped = daemon.stop(args.dir.resolve())
        runtime = args.dir.resolve() / "containerd"
        if runtime.is_dir():  # whatever a cluster that died without stopping left behind
            from localcluster.runtime.reaping import force_cleanup

            force_cleanup(runtime)
        print("stopped" if stopped else f"no local cluster runs from {args.dir}")
        return 0
    if args.action == "image":
        return _image_import(args)
    return _exec(args)
