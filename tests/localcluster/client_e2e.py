"""Runs the ``kubernetes`` Python client's own end-to-end suite, unchanged, against a local cluster.

Usage: ``python -m tests.localcluster.client_e2e DIR [PYTEST_ARGS...]`` where ``DIR`` is the
``kubernetes/e2e_test`` folder of a kubernetes-client/python source checkout (the PyPI packages do not
ship it; nothing is downloaded here). A fresh local cluster with two nodes (containerd nodes as root,
status-only otherwise) is started in a temp dir; the suite runs under pytest with ``KUBECONFIG``
pointing at it, and the pass/fail counts are printed. The suite's package is made importable as
``kubernetes.e2e_test`` by a generated ``conftest.py``; no file of the suite is changed.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

from localcluster.cluster import ClusterThread, Settings
from localcluster.kubeconfig import write_kubeconfig
from localcluster.nodes import StatusOnlyNode, simulator_factory

CONFTEST = """import kubernetes, pathlib
kubernetes.__path__.append(str(pathlib.Path(__file__).parent / "kubernetes"))
"""


def run(suite: pathlib.Path, extra: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="client-e2e-") as tmp:
        work = pathlib.Path(tmp)
        (work / "kubernetes").mkdir()
        (work / "kubernetes" / "e2e_test").symlink_to(suite.resolve())
        (work / "conftest.py").write_text(CONFTEST)
        factory = simulator_factory("containerd") if os.geteuid() == 0 else StatusOnlyNode
        cluster = ClusterThread(Settings(state_dir=work / "cluster", nodes=2, node_factory=factory))
        url = cluster.start()
        try:
            env = {**os.environ, "KUBECONFIG": str(write_kubeconfig(work / "kubeconfig", url))}
            args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", tmp]
            cmd = [*args, "--timeout=120", str(work / "kubernetes" / "e2e_test"), *extra]
            return subprocess.run(cmd, cwd=tmp, env=env, check=False).returncode
        finally:
            cluster.stop()


if __name__ == "__main__":
    if len(sys.argv) < 2 or not pathlib.Path(sys.argv[1]).is_dir():
        sys.exit("usage: python -m tests.localcluster.client_e2e E2E_TEST_DIR [PYTEST_ARGS...]")
    sys.exit(run(pathlib.Path(sys.argv[1]), sys.argv[2:]))
