"""Where ArmorProfileModels live: in the object (``CRDInternal``) or, when too large, on the leader's
disk (``LocalDisk``, upstream spec §3.7).

A write that the API server refuses as too large (413, or a message naming the size limit) moves the
whole ``data`` into ``<dir>/<name>`` (JSON, mode 0600, written atomically) and stores the object with
empty ``data`` and ``storageType: LocalDisk``; once LocalDisk, always LocalDisk. Reads put the file's
``data`` back. Names with ``/``, ``\\`` or ``..`` are refused.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Mapping
from typing import Any

from kubernetes.client.exceptions import ApiException

from api.names import ARMOR_PROFILE_MODELS, CRD_INTERNAL, LOCAL_DISK
from controller.kube import Cluster

SIZE_ERRORS = ("trying to send message larger than max", "etcdserver: request is too large",
               "Request entity too large")


def too_large(error: ApiException) -> bool:
    text = f"{error.reason or ''} {error.body or ''}"
    return error.status == 413 or any(marker.lower() in text.lower() for marker in SIZE_ERRORS)


class ModelStore:
    def __init__(self, cluster: Cluster, directory: pathlib.Path) -> None:
        self.cluster = cluster
        self.directory = directory

    def _path(self, name: str) -> pathlib.Path:
        if "/" in name or "\\" in name or ".." in name or not name:
            raise ValueError(f"refused model name {name!r}")
        return self.directory / name

    def load(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The model with its ``data`` (read from disk for LocalDisk models), or None."""
        obj = self.cluster.get_model(namespace, name)
        if obj is None or obj.get("storageType", CRD_INTERNAL) == CRD_INTERNAL:
            return obj
        try:
            obj["data"] = json.loads(self._path(name).read_text())["data"]
        except (OSError, ValueError, KeyError):
            obj["data"] = {}
        return obj

    def _write_file(self, obj: Mapping[str, Any]) -> None:
        path = self._path(obj["metadata"]["name"])
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.directory, prefix=".apm-")
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w") as out:
                json.dump(dict(obj), out, indent=2)
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise

    def save(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace the model (its ``resourceVersion`` guards concurrent writers: 409 propagates)."""
        body = dict(obj)
        if body.get("storageType") == LOCAL_DISK:
            return self._save_local(body)
        try:
            if body.get("metadata", {}).get("resourceVersion"):
                return self.cluster.replace(ARMOR_PROFILE_MODELS, body)
            return self.cluster.create(ARMOR_PROFILE_MODELS, body)
        except ApiException as error:
            if not too_large(error):
                raise
        return self._save_local({**body, "storageType": LOCAL_DISK})

    def _save_local(self, body: dict[str, Any]) -> dict[str, Any]:
        self._write_file(body)
        slim = {**body, "data": {}, "storageType": LOCAL_DISK}
        if body.get("metadata", {}).get("resourceVersion"):
            stored = self.cluster.replace(ARMOR_PROFILE_MODELS, slim)
        else:
            stored = self.cluster.create(ARMOR_PROFILE_MODELS, slim)
        return {**stored, "data": body.get("data", {})}
