"""The kubeconfig the local cluster writes for kubectl and the ``kubernetes`` client (pure text)."""

from __future__ import annotations

import pathlib

import yaml


def kubeconfig(server: str, name: str = "localcluster") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name,
        "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": server}}],
        "users": [{"name": "admin", "user": {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "admin", "namespace": "default"}}],
    }


def write_kubeconfig(path: pathlib.Path, server: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(server), sort_keys=False))
    return path
