"""PATCH bodies applied to stored objects, chosen by Content-Type as the real server does.

Merge patch (RFC 7386), JSON patch (RFC 6902, via ``jsonpatch``) and strategic merge patch (built-in
kinds only: list merge keys for the common pod fields, ``$patch`` directives, finalizers as a set).
Pure functions over plain dicts.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from localcluster.errors import ApiError, bad_request

SMP_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "containerStatuses": "name",
}
SMP_SET_LISTS = {"finalizers"}
_UNSUPPORTED_SMP = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
)


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _smp_dict(target: Any, patch: dict[str, Any]) -> dict[str, Any]:
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith(("$setElementOrder/", "$retainKeys")) or key == "$patch":
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            out[name] = [x for x in out.get(name, []) if x not in value]
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = strategic_merge(out.get(key), value, key)
    return out


def _smp_keyed_list(target: Any, patch: list[dict[str, Any]], mkey: str) -> list[Any]:
    if any(x.get("$patch") == "replace" for x in patch):
        return [x for x in patch if x.get("$patch") != "replace"]
    out = [copy.deepcopy(x) for x in (target or [])]
    for item in patch:
        idx = next((i for i, x in enumerate(out) if x.get(mkey) == item.get(mkey)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append(_smp_dict({}, item))
        else:
            out[idx] = _smp_dict(out[idx], item)
    return out


def strategic_merge(target: Any, patch: Any, field: str | None = None) -> Any:
    if isinstance(patch, dict):
        return _smp_dict(target, patch)
    if isinstance(patch, list):
        if field in SMP_SET_LISTS:
            base = list(target or [])
            return base + [x for x in patch if x not in base]
        mkey = SMP_MERGE_KEYS.get(field or "")
        if field == "ports" and all(isinstance(x, dict) and "containerPort" not in x for x in patch):
            mkey = "port"  # a Service's ports merge on ``port``, a container's on ``containerPort``
        if mkey and all(isinstance(x, dict) for x in patch):
            return _smp_keyed_list(target, patch, mkey)
    return copy.deepcopy(patch)


def apply_patch(old: dict[str, Any], content_type: str | None, raw: bytes, builtin: bool) -> dict[str, Any]:
    """Return the patched copy of ``old``; errors carry the real server's codes (400/415/422)."""
    ctype = (content_type or "").split(";")[0].strip()
    try:
        body = json.loads(raw or b"null")
    except ValueError as e:
        raise bad_request(f"invalid JSON patch body: {e}") from e
    if ctype == "application/json-patch+json":
        try:
            new: Any = jsonpatch.apply_patch(old, body, in_place=False)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as e:
            raise ApiError(
                422, "Invalid", f"the server rejected our request due to an error in our request: {e}"
            ) from e
    elif ctype == "application/merge-patch+json":
        if not isinstance(body, dict):
            raise bad_request(
                f"error decoding patch: json: cannot unmarshal {type(body).__name__} "
                "into Go value of type map[string]interface {}"
            )
        new = merge_patch(old, body)
    elif ctype == "application/strategic-merge-patch+json":
        if not builtin:
            raise ApiError(415, "UnsupportedMediaType", _UNSUPPORTED_SMP)
        new = strategic_merge(old, body)
    else:
        raise ApiError(
            415, "UnsupportedMediaType", f"patch type {ctype!r} is not supported (no server-side apply)"
        )
    if not isinstance(new, dict):
        raise ApiError(422, "Invalid", "the patched object is not an object")
    return new
