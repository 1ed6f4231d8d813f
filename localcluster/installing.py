"""``localcluster up --detach --install-varmor``: varmor-py installed from its chart, running as pods.

As a user installs it on a real cluster: the image (``make image``: the chart's default image name)
is imported into the local cluster's containerd, and the chart is installed through Helm's own Go SDK
against the local API server. The manager and the agents then run as pods from that image, like any
workload: the manager with its in-cluster ServiceAccount, each agent with the host mounts of the
chart. Only what differs on this machine from a real node is set (``local_values``): containerd's
socket is the cluster's own under its state directory, the kubelet's seccomp root is the
cluster's, and the agents keep their state in the cluster's directory, one per node. ``install``
returns once the manager and an agent on every node are Ready.
"""

from __future__ import annotations

import pathlib
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from localcluster import charts
from localcluster.runtime import containerd, imagebuild, productimage

READY_TIMEOUT = 600.0
MANAGER, AGENT = "varmor-manager", "varmor-agent"


class InstallError(RuntimeError):
    """The image, the chart or the pods did not get where the install needs them; says which."""


def local_values(state_dir: pathlib.Path) -> dict[str, Any]:
    """The chart values for this machine's local cluster (the user's ``--set`` strings go on top)."""
    return {
        "manager": {"replicas": 1},
        "agent": {
            "containerdSocket": str(containerd.Layout(state_dir / "containerd").socket),
            "kubeletSeccompRoot": str(state_dir / "seccomp"),
            "stateDir": str(state_dir / "agents"),  # the nodes share this machine: one directory each
            "stateDirPerNode": True,
        },
    }


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return not pod["metadata"].get("deletionTimestamp") and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def not_ready(pods: Sequence[dict[str, Any]], nodes: Sequence[str], replicas: int) -> list[str]:
    """What keeps the install from being Ready (pure): an empty list once everything is."""
    def app(pod: dict[str, Any]) -> str:
        return str((pod["metadata"].get("labels") or {}).get("app", ""))

    missing = []
    ready_managers = [p for p in pods if app(p) == MANAGER and is_ready(p)]
    if len(ready_managers) < replicas:
        missing.append(f"{MANAGER}: {len(ready_managers)}/{replicas} Ready")
    agent_nodes = {p.get("spec", {}).get("nodeName") for p in pods if app(p) == AGENT and is_ready(p)}
    missing += [f"{AGENT} on {node}: not Ready" for node in nodes if node not in agent_nodes]
    return missing


def describe(pod: dict[str, Any]) -> str:
    """One line on a pod that is not Ready: its phase and its containers' waiting or exit reasons."""
    status = pod.get("status") or {}
    states = []
    for container in status.get("containerStatuses") or []:
        for kind, state in (container.get("state") or {}).items():
            if kind != "running":
                reason, message = state.get("reason", kind), state.get("message", "")
                states.append(f"{container['name']} {reason}: {message}".strip())
        if (container.get("state") or {}).get("running") and not container.get("ready"):
            states.append(f"{container['name']} running, not ready")
    return f"{pod['metadata']['name']} ({status.get('phase', 'Pending')}) {'; '.join(states)}".strip()


def import_image(state_dir: pathlib.Path, log: TextIO) -> str:
    """The chart's default image in the cluster's containerd (built first unless cached); its name."""
    name = productimage.image_name()
    socket = containerd.Layout(state_dir / "containerd").socket
    if not socket.exists():
        raise InstallError(f"no containerd runs for the cluster in {state_dir} (--node-simulator containerd)")
    if name in containerd.image_names(socket):
        return name
    try:
        archive = productimage.build(log=log)
    except imagebuild.ImageBuildError as error:
        raise InstallError(f"cannot build the image: {error}") from None
    print(f"Importing {archive.name} as {name}", file=log, flush=True)
    try:
        containerd.import_archive(socket, archive)
    except ValueError as error:
        raise InstallError(str(error)) from None
    if name not in containerd.image_names(socket):
        raise InstallError(f"{archive} did not import as {name}")
    return name


def wait_ready(list_pods: Callable[[], list[dict[str, Any]]], nodes: Sequence[str], replicas: int,
               timeout: float = READY_TIMEOUT, clock: Callable[[], float] = time.monotonic) -> None:
    deadline = clock() + timeout
    while True:
        pods = list_pods()
        missing = not_ready(pods, nodes, replicas)
        if not missing:
            return
        if clock() > deadline:
            details = "; ".join(describe(p) for p in pods if not is_ready(p)) or "no pods"
            raise InstallError(f"not Ready after {timeout:.0f}s: {', '.join(missing)} ({details})")
        time.sleep(1.0)


def install(state_dir: pathlib.Path, nodes: Sequence[str], sets: Sequence[str], log: TextIO = sys.stderr,
            timeout: float = READY_TIMEOUT) -> None:
    """Image, chart, then wait until the manager and every agent are Ready."""
    user_values = charts.values_from_sets(sets)  # a bad --set fails before anything is done
    image = import_image(state_dir, log)
    values = charts.merged(local_values(state_dir), user_values)
    kubeconfig = state_dir / "kubeconfig"
    print(f"Installing the chart {charts.CHART} (image {image}) as release {charts.RELEASE}",
          file=log, flush=True)
    charts.install(kubeconfig, values)
    replicas = int(values.get("manager", {}).get("replicas", 1))
    wait_ready(_pod_lister(kubeconfig), nodes, replicas, timeout)


def _pod_lister(kubeconfig: pathlib.Path) -> Callable[[], list[dict[str, Any]]]:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))  # type: ignore[no-untyped-call]

    def pods() -> list[dict[str, Any]]:  # camelCase, as the API serves them
        listed = api.list_namespaced_pod(charts.NAMESPACE)
        return [api.api_client.sanitize_for_serialization(pod) for pod in listed.items]

    return pods
