"""Fixtures for the local cluster tests: a running cluster, its kubeconfig, and a kubectl runner.

The shared ``cluster`` has two nodes and runs pods on its own containerd through CRI
(``localcluster.node.crinode``) when the tests run as root; otherwise it uses the status-only
nodes, which report pods Running without processes. Tests isolate themselves by
namespace. ``support`` holds the helpers.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import pytest

from localcluster.cluster import ClusterThread, Settings
from localcluster.kubeconfig import write_kubeconfig
from localcluster.node.criruntime import PREWARM, ContainerdRuntime
from localcluster.nodes import NodeFactory, StatusOnlyNode, simulator_factory
from localcluster.runtime.imagebuild import build_images
from tests.localcluster.support import Kube


def node_factory() -> NodeFactory:
    return simulator_factory("containerd") if os.geteuid() == 0 else StatusOnlyNode


@pytest.fixture(scope="session")
def cluster_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp("localcluster")


@pytest.fixture(scope="session")
def cluster(cluster_dir: pathlib.Path) -> Iterator[ClusterThread]:
    factory = node_factory()
    if isinstance(factory, ContainerdRuntime):
        build_images(list(PREWARM))  # cached after the first run
    thread = ClusterThread(Settings(state_dir=cluster_dir, nodes=2, node_factory=factory))
    thread.start()
    if isinstance(factory, ContainerdRuntime):  # the guide's images, imported once for every test
        assert factory.wait_prewarmed(300)
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def kube(cluster: ClusterThread, cluster_dir: pathlib.Path) -> Kube:
    return Kube(write_kubeconfig(cluster_dir / "kubeconfig", cluster.cluster.url), cluster.cluster.url)
