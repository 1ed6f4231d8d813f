"""The ``kubernetes`` Python client's interactive exec: stdin in TEXT frames, answers line by line.

The client's ``stream`` sends stdin as WebSocket TEXT frames (channel byte first) and, on
``v5.channel.k8s.io``, closes stdin with channel 255; ``cat`` in a containerd pod echoes each line at
once and exits when stdin closes.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from kubernetes.stream import stream

from tests.localcluster.support import Kube, eventually

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd nodes need root")


def test_interactive_stdin_is_echoed_line_by_line_and_closing_it_ends_the_command(kube: Kube) -> None:
    ns = kube.namespace("stdin")
    spec = {"containers": [{"name": "c", "image": "debian:10", "command": ["sleep", "infinity"]}]}
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": "cat"}, "spec": spec})
    eventually(lambda: kube.core.read_namespaced_pod("cat", ns).status.phase == "Running", 120)
    resp: Any = stream(
        kube.core.connect_post_namespaced_pod_exec,
        "cat",
        ns,
        command=["cat"],
        stderr=True,
        stdin=True,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    assert resp.subprotocol == "v5.channel.k8s.io"
    resp.write_stdin("first\n")
    assert resp.readline_stdout(timeout=10) == "first"
    resp.write_stdin("second\n")
    assert resp.readline_stdout(timeout=10) == "second"
    resp.close_channel(0)
    resp.update(timeout=10)
    eventually(lambda: (resp.update(timeout=1), not resp.is_open())[1], 20)
    assert resp.returncode == 0
