"""Server-side apply (``PATCH`` with ``application/apply-patch+yaml``), simplified but honest.

The applied configuration is merged into the live object (strategic merge for built-in kinds, JSON
merge for custom resources) and the set of fields it names is recorded in ``managedFields`` under its
``fieldManager`` as ``FieldsV1``. A field the same manager applied last time and no longer names is
removed, as real server-side apply removes it. Conflicts between managers are not detected (every apply
acts as ``--force-conflicts``). Pure functions over plain data.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from localcluster.errors import ApiError, bad_request
from localcluster.patches import SMP_MERGE_KEYS, merge_patch, strategic_merge

Obj = dict[str, Any]
_SKIP_TOP = ("apiVersion", "kind")


def parse_config(raw: bytes, name: str) -> Obj:
    """The applied configuration; it must name the object of the URL."""
    try:
        config = yaml.safe_load(raw or b"")
    except yaml.YAMLError as e:
        raise bad_request(f"error decoding YAML: {e}") from e
    if not isinstance(config, dict) or not isinstance(config.get("metadata"), dict):
        raise bad_request("the applied configuration must be an object with metadata")
    if config["metadata"].get("name", name) != name:
        raise bad_request("the name of the applied configuration does not match the name on the URL")
    if not config.get("apiVersion") or not config.get("kind"):
        raise bad_request("apiVersion and kind must be set in the applied configuration")
    return config


def field_set(value: Any, field: str = "") -> Obj:
    """The FieldsV1 set of the fields ``value`` names (keyed lists by their merge key)."""
    if isinstance(value, dict):
        return {f"f:{k}": field_set(v, k) for k, v in value.items() if not (field == "" and k in _SKIP_TOP)}
    mkey = SMP_MERGE_KEYS.get(field)
    if isinstance(value, list) and mkey and all(isinstance(x, dict) and mkey in x for x in value):
        return {f"k:{json.dumps({mkey: x[mkey]}, separators=(',', ':'))}": field_set(x, "") for x in value}
    return {}


def _item_index(items: list[Any], key: str) -> int | None:
    want = json.loads(key[2:])
    for i, item in enumerate(items):
        if isinstance(item, dict) and all(item.get(k) == v for k, v in want.items()):
            return i
    return None


def _prune(obj: Any, before: Obj, after: Obj) -> None:
    """Remove from ``obj`` what ``before`` names and ``after`` does not."""
    for key, sub in before.items():
        if key.startswith("f:") and isinstance(obj, dict):
            name = key[2:]
            if key not in after:
                obj.pop(name, None)
            elif sub and name in obj:
                _prune(obj[name], sub, after[key])
        elif key.startswith("k:") and isinstance(obj, list):
            idx = _item_index(obj, key)
            if idx is None:
                continue
            if key not in after:
                obj.pop(idx)
            elif sub:
                _prune(obj[idx], sub, after[key])


def _previous(live: Obj | None, manager: str) -> Obj:
    for entry in (live or {}).get("metadata", {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            return dict(entry.get("fieldsV1") or {})
    return {}


def apply(live: Obj | None, config: Obj, manager: str, builtin: bool, now: str) -> Obj:
    """The object after applying ``config`` as ``manager`` (``live`` is None for a create)."""
    if not manager:
        raise ApiError(422, "Invalid", "PATCH, application/apply-patch+yaml: fieldManager is required")
    fields = field_set(config)
    base = copy.deepcopy(live) if live is not None else {}
    _prune(base, _previous(live, manager), fields)
    merged: Obj = strategic_merge(base, config) if builtin else merge_patch(base, config)
    entries = [
        e
        for e in merged.get("metadata", {}).get("managedFields") or []
        if not (e.get("manager") == manager and e.get("operation") == "Apply")
    ]
    entries.append(
        {
            "manager": manager,
            "operation": "Apply",
            "apiVersion": config["apiVersion"],
            "time": now,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
    )
    merged.setdefault("metadata", {})["managedFields"] = entries
    return merged
