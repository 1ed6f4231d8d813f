"""Shared test helpers: AdmissionReview builders and patch decoding."""

from __future__ import annotations

import base64
import json
import pathlib
from typing import Any

import jsonpatch

from webhook.reviews import AdmissionResponse

GOLDEN = pathlib.Path(__file__).parent / "golden"
GROUPS = {"Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps", "Pod": ""}


def review(
    obj: dict[str, Any] | None, kind: str, namespace: str, *, operation: str = "CREATE",
    old: dict[str, Any] | None = None, uid: str = "0df28fbd-5f5f-11e8-9d1c-0242ac110002",
) -> dict[str, Any]:
    group = "crd.varmor.org" if kind.startswith("Varmor") else GROUPS.get(kind, "apps")
    version = "v1beta1" if group == "crd.varmor.org" else "v1"
    request: dict[str, Any] = {
        "uid": uid, "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": kind.lower() + "s"},
        "namespace": namespace, "operation": operation, "object": obj, "oldObject": old,
    }
    if obj and isinstance(obj.get("metadata"), dict) and "name" in obj["metadata"]:
        request["name"] = obj["metadata"]["name"]
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def patch_of(response: AdmissionResponse) -> list[dict[str, Any]]:
    if "patch" not in response:
        return []
    assert response.get("patchType") == "JSONPatch"
    ops: list[dict[str, Any]] = json.loads(base64.b64decode(response["patch"]))
    return ops


def applied(obj: dict[str, Any], response: AdmissionResponse) -> dict[str, Any]:
    """The object after the response's patch, applied strictly in order."""
    result: dict[str, Any] = jsonpatch.apply_patch(obj, patch_of(response))
    return result
