"""Export and import of ArmorProfileModels through the status service (upstream spec §3.8).

Export returns the whole model with its ``data`` (read from disk when LocalDisk). Import merges the
AppArmor and seccomp results of the body's ``data.dynamicResult`` into the stored model (created when
absent), overwrites ``data.profile.content`` / ``seccompContent`` when the body carries them, sets
``data.profile.name`` and stores it. The reported nodes (``reports``) and the status are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes.client.exceptions import ApiException

from api.types import mapping
from controller.modelstore import ModelStore
from controller.reports import BadReport, new_model
from generator.codec import from_data, to_data
from generator.merge import merge


class ModelExports:
    def __init__(self, models: ModelStore) -> None:
        self.models = models

    def export(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.models.load(namespace, name)

    def _merged(self, current: Mapping[str, Any], body: Mapping[str, Any], name: str) -> dict[str, Any]:
        incoming = mapping(body.get("data"))
        try:
            model = from_data({"dynamicResult": mapping(incoming.get("dynamicResult"))})
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise BadReport(f"The dynamicResult is malformed: {error!r}.") from None
        data = mapping(current.get("data"))
        merged = merge(from_data(data), model) if data else model
        profile = dict(mapping(data.get("profile")))
        for field in ("content", "seccompContent", "bpfContent"):
            value = mapping(incoming.get("profile")).get(field)
            if isinstance(value, str) and value:
                profile[field] = value
        profile["name"] = name
        return {**dict(current), "data": {**dict(data), **to_data(merged), "profile": profile}}

    def import_model(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        for _ in range(8):
            current = self.models.load(namespace, name) or new_model(namespace, name)
            try:
                return self.models.save(self._merged(current, body, name))
            except ApiException as error:
                if error.status != 409:
                    raise
        raise RuntimeError("too many conflicts importing the ArmorProfileModel")
