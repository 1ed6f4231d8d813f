"""Connecting to a port inside a pod's network namespace, as containerd's CRI ``PortForward`` does.

``connect_in`` runs on a thread of its own (never a pooled one): it enters the namespace with
``setns(CLONE_NEWNET)``, opens a TCP connection to ``127.0.0.1:<port>`` there, and the thread ends.
A socket keeps the namespace it was made in, so the caller uses it from anywhere. A process that
listens only on the pod's loopback is reached this way, as ``kubectl port-forward`` reaches it.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import socket
import threading

from cri import runtime_pb2 as pb
from cri.client import CriClient
from localcluster.node import kernel

CLONE_NEWNET = 0x40000000


def _connect(netns: str, port: int, timeout: float) -> socket.socket:
    fd = os.open(netns, os.O_RDONLY)
    try:
        kernel.setns_fd(fd, CLONE_NEWNET)
    finally:
        os.close(fd)
    sock = socket.create_connection(("127.0.0.1", port), timeout)
    sock.settimeout(None)
    return sock


def connect_in(netns: str, port: int, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to ``port`` on the loopback of the network namespace at ``netns``."""
    result: concurrent.futures.Future[socket.socket] = concurrent.futures.Future()

    def run() -> None:  # this thread's namespace is never restored: it ends right after
        try:
            result.set_result(_connect(netns, port, timeout))
        except BaseException as err:
            result.set_exception(err)

    threading.Thread(target=run, name=f"netdial-{port}", daemon=True).start()
    return result.result(timeout + 5)


def sandbox_netns(cri: CriClient, sandbox_id: str) -> str:
    """The network namespace file of a CRI sandbox, from containerd's verbose sandbox status."""
    request = pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=True)
    info = json.loads(cri.call("PodSandboxStatus", request).info.get("info", "{}"))
    spaces = ((info.get("runtimeSpec") or {}).get("linux") or {}).get("namespaces") or []
    return next((str(n.get("path", "")) for n in spaces if n.get("type") == "network"), "")
