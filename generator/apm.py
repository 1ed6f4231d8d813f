"""The ArmorProfileModel object: a model plus its rendered profiles, as stored in the cluster.

``armor_profile_model`` builds the object users read with ``kubectl get ArmorProfileModel``:
``data.profile.content`` is the base64 AppArmor profile and ``data.profile.seccompContent``
the base64 seccomp JSON (seed field names). ``read_document`` accepts what users hand the
CLI: a whole ArmorProfileModel (as ``kubectl get -o json|yaml`` prints it), its ``data``, or
a bare ``dynamicResult``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.names import API_VERSION, ARMOR_PROFILE_MODEL, CRD_INTERNAL, DEFAULT_INSTALL_NAMESPACE
from generator.codec import from_data, to_data
from generator.models import BehaviorModel
from generator.render import render_apparmor, render_seccomp


@dataclass(frozen=True)
class Document:
    model: BehaviorModel
    name: str | None  # the profile name the document carries, if any


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogateescape")).decode("ascii")


def profile_section(model: BehaviorModel, name: str, enforcer: str = "", mode: str = "") -> dict[str, str]:
    """The ``profile`` section; raises ``RenderError`` rather than store an empty profile."""
    apparmor = render_apparmor(model, name)
    return {
        "name": name,
        "enforcer": enforcer,
        "mode": mode,
        "content": _b64(apparmor),
        "seccompContent": _b64(render_seccomp(model)),
    }


def incompleteness(model: BehaviorModel) -> str | None:
    """One sentence for users when the model lost or dropped anything, else None."""
    total = model.total_coverage()
    parts = [f"{n} {what}" for n, what in ((total.lost_events, "events lost in the kernel"),
                                           (total.map_full, "map insertions failed"),
                                           (total.paths_truncated, "paths truncated"),
                                           (total.invalid_events, "invalid events"),
                                           (len(total.dropped), "records dropped")) if n]
    if not parts:
        return None
    return "the model is incomplete: " + ", ".join(parts) + "; the profiles may deny what the workload did"


def armor_profile_model(
    model: BehaviorModel, name: str, namespace: str = DEFAULT_INSTALL_NAMESPACE, enforcer: str = "",
    mode: str = "",
) -> dict[str, Any]:
    """The ArmorProfileModel object; ``RenderError`` when its AppArmor profile cannot be rendered."""
    data = to_data(model)
    data["profile"] = profile_section(model, name, enforcer, mode)
    return {
        "apiVersion": API_VERSION,
        "kind": ARMOR_PROFILE_MODEL,
        "metadata": {"name": name, "namespace": namespace},
        "storageType": CRD_INTERNAL,
        "data": data,
        "status": {"ready": True},
    }


def read_document(document: Mapping[str, Any]) -> Document:
    """The model and profile name in an ArmorProfileModel, its data, or a dynamicResult."""
    if not isinstance(document, Mapping):
        raise ValueError("expected a mapping (an ArmorProfileModel, its data, or a dynamicResult)")
    name: str | None = None
    data: Mapping[str, Any] = document
    if "data" in document:
        data = document["data"] or {}
        name = (document.get("metadata") or {}).get("name")
    profile = data.get("profile") or {}
    name = profile.get("name") or name
    known = {"dynamicResult", "apparmor", "appArmor", "seccomp"}
    if not known.intersection(data):
        raise ValueError("no dynamicResult, apparmor or seccomp section found")
    return Document(from_data(data), name or None)
