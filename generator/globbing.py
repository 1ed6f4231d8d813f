"""Path generalization: upstream's trimPath rules (spec §4.9) plus the component classifier.

Input and output are AppArmor patterns (see ``generator.patterns``). The rules run in
upstream's order; each is data in a table below. Beyond upstream: ``/lib/aarch64-linux-gnu``
is globbed like the other library trees, and the last step asks a deterministic in-process
classifier (``generator.classifier.generalize_path``: whole components, each judged in its path)
instead of an HTTP service per path. ``generalize`` is what the model builder calls per path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from generator.classifier import generalize_path

# Step 1: container snapshot directories.
DEFAULT_OVERLAY_PREFIXES = ("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/",)
# Step 2: library trees collapsed to `<tree>**` for read/mmap-only access.
LIBRARY_TREES = (
    "/lib/x86_64-linux-gnu/",
    "/usr/lib/x86_64-linux-gnu/",
    "/lib/aarch64-linux-gnu/",
    "/usr/lib/aarch64-linux-gnu/",
)
WRITE_PERMISSIONS = frozenset("awlk")
# Steps 3 and 4: trees collapsed to `<tree>**` whatever the access.
SUBTREES = (
    "/tmp/",
    "/run/secrets/kubernetes.io/serviceaccount/",
    "/var/run/secrets/kubernetes.io/serviceaccount/",
)
# Step 6: prefixes that are never sent to the classifier.
UNCLASSIFIED_PREFIXES = ("/lib/", "/usr/lib/", "/usr/local/lib/", "/sys/", "/proc/", "/var/lib/")

_NUMBER = re.compile(r"\b\d+\b")
_SNAPSHOT = re.compile(r"/snapshots/\d+/fs/")
_PROC_ID = re.compile(r"/\d+")
_MAP_FILES = re.compile(r"/map_files/.*$", re.DOTALL)


def _snapshots(path: str, overlay_prefixes: Sequence[str]) -> str:
    if path.startswith(tuple(overlay_prefixes)):
        return _NUMBER.sub("*", path)
    if "/snapshots/" in path and "/fs/" in path:
        return _SNAPSHOT.sub("/snapshots/*/fs/", path)
    return path


def _collapse(path: str, trees: Sequence[str]) -> str:
    for tree in trees:
        if path.startswith(tree) and len(path) > len(tree):
            return tree + "**"
    return path


def _proc(path: str) -> str:
    path = _PROC_ID.sub("/*", path)
    if "/map_files/" in path:
        path = _MAP_FILES.sub("/map_files/*", path)
    return path


def generalize(
    path: str,
    permissions: str,
    overlay_prefixes: Sequence[str] = DEFAULT_OVERLAY_PREFIXES,
    classify: bool = True,
) -> str:
    """The pattern a recorded path (already escaped) becomes, given its permission letters."""
    path = _snapshots(path, overlay_prefixes)
    if not WRITE_PERMISSIONS.intersection(permissions) and "x" not in permissions:
        path = _collapse(path, LIBRARY_TREES)  # never for exec: `<tree>** ix` would run anything there
    path = _collapse(path, SUBTREES)
    if path == "/proc" or path.startswith("/proc/"):
        return _proc(path)
    if path.startswith(UNCLASSIFIED_PREFIXES) or not classify:
        return path
    return generalize_path(path)
