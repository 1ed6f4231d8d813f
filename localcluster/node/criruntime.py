"""The cluster's containerd, shared by its CRI nodes: the ``NodeFactory`` of containerd nodes.

``ContainerdRuntime`` starts the cluster's private containerd when the first node is made (its
directory is ``<cluster state>/containerd``, its pod network chosen for the cluster), shares one
CRI client and image puller between the nodes, starts importing the sandbox image and the guide's
images (when their archives are cached) in the background, and stops everything on ``close``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from cri.client import CriClient
from localcluster.node import slots
from localcluster.node.crinode import CriNode
from localcluster.runtime import containerd, imagebuild, images, networks, pulling

PREWARM = (images.PAUSE_IMAGE, "docker.io/library/debian:10", "docker.io/curlimages/curl:7.87.0")


class ContainerdRuntime:
    """The cluster's containerd, shared by its nodes; also a ``NodeFactory``."""

    def __init__(self, backoff_base: float = slots.BACKOFF_BASE) -> None:
        self.backoff_base = backoff_base
        self.ctd: containerd.Containerd | None = None
        self.cri: CriClient | None = None
        self.puller: pulling.ImagePuller | None = None
        self.version = ""
        self.network: networks.Network | None = None
        self._lock = threading.Lock()
        self._hung = False

    def __call__(self, name: str, state_dir: Path, seccomp_dir: Path) -> CriNode:
        self.ensure_started(state_dir.parent.parent)
        return CriNode(self, name, state_dir, seccomp_dir)

    def ensure_started(self, cluster_dir: Path) -> None:
        with self._lock:
            if self.ctd is not None:
                return
            base = cluster_dir / "containerd"
            self.network = networks.allocate(cluster_dir)
            ctd = containerd.Containerd(base, self.network)
            ctd.start()
            self.ctd, self.cri = ctd, CriClient(ctd.layout.socket)
            self.version = self.cri.wait_ready(containerd.START_TIMEOUT)
            self.puller = pulling.ImagePuller(ctd, self.cri)
            for image in PREWARM:  # in the background, when their archives are already cached
                recipe = images.recipe_for(image)
                if image == images.PAUSE_IMAGE or (recipe and imagebuild.cached_archive(recipe).exists()):
                    self.puller.check(image, "IfNotPresent")

    def wait_prewarmed(self, timeout: float) -> bool:
        """Wait until the images ``ensure_started`` began importing are present (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while self.puller is not None and time.monotonic() < deadline:
            if not self.puller.busy():
                return True
            time.sleep(0.1)
        return False

    def report_hang(self) -> Path | None:
        """A node found containerd unresponsive: it logs its goroutine stacks (the log's path is
        returned), and ``close`` gives it one second, not ten, to stop on SIGTERM."""
        self._hung = True
        return self.ctd.dump_stacks() if self.ctd is not None else None

    def close(self) -> None:
        with self._lock:
            if self.puller is not None:
                self.puller.close()
            if self.cri is not None:
                self.cri.close()
            if self.ctd is not None:
                self.ctd.stop(1.0 if self._hung else 10.0)
            self.ctd = self.cri = self.puller = None
