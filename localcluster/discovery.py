"""Discovery documents and the minimal OpenAPI v3 that kubectl and the clients need.

``/version``, ``/api``, ``/apis``, group and group-version resource lists, and an OpenAPI v3 index
whose per-group documents declare a PATCH operation with the ``fieldValidation`` parameter for every
kind: kubectl then leaves validation to the server instead of downloading full schemas, so
``kubectl create -f -`` works without ``--validate=false``. Pure functions over the registry.
"""

from __future__ import annotations

import hashlib
from typing import Any

from localcluster import scaling
from localcluster.resources import Resource

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-localcluster",
    "gitCommit": "0" * 40,
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _groups(resources: list[Resource]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for res in resources:
        if res.group and res.version not in groups.setdefault(res.group, []):
            groups[res.group].append(res.version)
    return groups


def _group_doc(group: str, versions: list[str]) -> dict[str, Any]:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def _resource_entries(res: Resource) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": res.plural,
        "singularName": res.singular,
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": ["create"] if res.create_only else VERBS,
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    out = [entry]
    if res.status:
        out.append(
            {
                "name": f"{res.plural}/status",
                "singularName": "",
                "namespaced": res.namespaced,
                "kind": res.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    return out + _extra_subresources(res)


def _extra_subresources(res: Resource) -> list[dict[str, Any]]:
    """Subresources of another kind: ``<plural>/scale`` (Scale) and ``serviceaccounts/token``."""
    out: list[dict[str, Any]] = []
    if res.key in scaling.SCALABLE:
        out.append(
            {
                "name": f"{res.plural}/scale",
                "singularName": "",
                "namespaced": res.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }
        )
    if res.key == ("", "serviceaccounts"):
        out.append(
            {
                "name": "serviceaccounts/token",
                "singularName": "",
                "namespaced": True,
                "group": "authentication.k8s.io",
                "version": "v1",
                "kind": "TokenRequest",
                "verbs": ["create"],
            }
        )
    return out


def _resource_list(resources: list[Resource], group: str, version: str) -> dict[str, Any] | None:
    selected = [r for r in resources if (r.group, r.version) == (group, version)]
    if not selected:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [e for r in selected for e in _resource_entries(r)],
    }


def document(path: str, resources: list[Resource]) -> Any:
    """The discovery document served at ``path``, or None when ``path`` is not a discovery path."""
    groups = _groups(resources)
    parts = [p for p in path.split("/") if p]
    if path in ("/healthz", "/readyz", "/livez"):
        return "ok"
    if path == "/version":
        return VERSION
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }
    if path == "/apis":
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [_group_doc(g, v) for g, v in groups.items()],
        }
    if parts == ["api", "v1"]:
        return _resource_list(resources, "", "v1")
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
        return {**_group_doc(parts[1], groups[parts[1]]), "kind": "APIGroup", "apiVersion": "v1"}
    if len(parts) == 3 and parts[0] == "apis":
        return _resource_list(resources, parts[1], parts[2])
    if parts[:2] == ["openapi", "v3"]:
        return openapi_v3("/".join(parts[2:]), resources)
    if path == "/":
        return {
            "paths": sorted(
                {"/api", "/api/v1", "/apis", "/version", "/healthz", "/openapi/v3"}
                | {f"/apis/{g}" for g in groups}
                | {f"/apis/{g}/{v}" for g, vs in groups.items() for v in vs}
            )
        }
    return None


def _gv_path(res: Resource) -> str:
    return f"apis/{res.group}/{res.version}" if res.group else "api/v1"


def _operation(res: Resource) -> dict[str, Any]:
    gvk = {"group": res.group, "version": res.version, "kind": res.kind}
    params = [
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
    ]
    return {
        "operationId": f"patch{res.kind}",
        "parameters": params,
        "x-kubernetes-group-version-kind": gvk,
        "responses": {"200": {"description": "OK"}},
    }


def openapi_v3(gv_path: str, resources: list[Resource]) -> dict[str, Any] | None:
    """The OpenAPI v3 index (``gv_path`` empty) or one group-version document."""
    paths = sorted({_gv_path(r) for r in resources})
    if not gv_path:
        return {
            "paths": {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={_hash(p, resources)}"} for p in paths}
        }
    if gv_path not in paths:
        return None
    doc_paths: dict[str, Any] = {}
    for res in resources:
        if _gv_path(res) == gv_path:
            scope = "namespaces/{namespace}/" if res.namespaced else ""
            doc_paths[f"/{gv_path}/{scope}{res.plural}/{{name}}"] = {"patch": _operation(res)}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
        "paths": doc_paths,
        "components": {"schemas": {}},
    }


def _hash(gv_path: str, resources: list[Resource]) -> str:
    kinds = sorted(r.kind for r in resources if _gv_path(r) == gv_path)
    return hashlib.sha256(f"{gv_path}:{kinds}".encode()).hexdigest()[:16].upper()
