"""``kubectl get -w`` keeps its table columns; ``kubectl describe node`` prints sane figures."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.localcluster.support import Kube, eventually


def _pod(name: str) -> dict[str, object]:
    container = {"name": "c", "image": "debian:10", "command": ["/bin/sh", "-c", "sleep infinity"]}
    return {"metadata": {"name": name}, "spec": {"containers": [container]}}


def test_get_watch_prints_table_rows_after_the_first_list(kube: Kube) -> None:
    ns = kube.namespace("watch")
    kube.core.create_namespaced_pod(ns, _pod("first"))
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig)}
    proc = subprocess.Popen(
        ["kubectl", "get", "pods", "-w", "-n", ns], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        time.sleep(1.0)
        kube.core.create_namespaced_pod(ns, _pod("second"))
        eventually(lambda: kube.core.read_namespaced_pod("second", ns).status.phase == "Running", timeout=30)
        time.sleep(0.5)
    finally:
        proc.terminate()
    lines = proc.communicate(timeout=10)[0].splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    watched = [line.split() for line in lines[1:] if line.startswith("second")]
    assert watched, lines
    assert all(len(row) == 5 and row[1].endswith("/1") for row in watched), watched
    assert watched[-1][2] == "Running"


def test_describe_node_shows_capacity_and_real_percentages(kube: Kube) -> None:
    out = kube.kubectl("describe", "node", "node-1")
    assert "-9223372036854775808" not in out
    assert "Capacity:" in out and "Failed to get lease" not in out
    allocated = out.split("Allocated resources:", 1)[1]
    assert "cpu                0 (0%)" in allocated or "(0%)" in allocated


def test_a_watch_with_a_bad_timeout_is_a_clear_400(kube: Kube) -> None:
    url = f"{kube.api.configuration.host}/api/v1/configmaps?watch=true&timeoutSeconds=soon"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    assert err.value.code == 400
    assert "invalid timeoutSeconds" in json.loads(err.value.read())["message"]
