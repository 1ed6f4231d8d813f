"""The files of a pod's API-backed volumes, as kubelet's volume plugins lay them out (pure).

``with_service_account`` adds what the ServiceAccount admission plugin adds to a pod: the projected
``kube-api-access-<suffix>`` volume (token, ``ca.crt`` from ``kube-root-ca.crt``, ``namespace``) mounted
read-only at ``/var/run/secrets/kubernetes.io/serviceaccount`` in every container, unless
``automountServiceAccountToken`` is false or a container already mounts that path. ``volume_files``
turns one ``configMap``, ``secret``, ``downwardAPI`` or ``projected`` volume into ``{path: (bytes,
mode)}`` (``items``, ``defaultMode``/``mode``, ``optional``); a source that is missing raises
``VolumeError`` with kubelet's ``MountVolume.SetUp failed`` reason. ``podvolumes`` writes them.
"""

from __future__ import annotations

import copy
import hashlib
import posixpath
from collections.abc import Callable
from typing import Any

from localcluster.node.sources import Sources, lookup

SA_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
SA_TOKEN_SECONDS = 3607
DEFAULT_MODE = 0o644
API_KINDS = ("configMap", "secret", "downwardAPI", "projected")
Files = dict[str, tuple[bytes, int]]
Tokens = Callable[[str, list[str], int], str]  # (path, audiences, seconds) -> a current token


class VolumeError(Exception):
    """A volume that cannot be set up yet (its source is missing)."""


def api_access_volume(name: str) -> dict[str, Any]:
    sources = [
        {"serviceAccountToken": {"expirationSeconds": SA_TOKEN_SECONDS, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]
    return {"name": name, "projected": {"defaultMode": DEFAULT_MODE, "sources": sources}}


def with_service_account(pod: dict[str, Any]) -> dict[str, Any]:
    """``pod`` with the ``kube-api-access-*`` volume and its mounts, as admission adds them."""
    spec = pod.get("spec") or {}
    if spec.get("automountServiceAccountToken") is False:
        return pod
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    if any(m.get("mountPath") == SA_PATH for c in containers for m in c.get("volumeMounts") or []):
        return pod
    if any(v.get("name", "").startswith("kube-api-access-") for v in spec.get("volumes") or []):
        return pod
    out = copy.deepcopy(pod)
    name = f"kube-api-access-{hashlib.sha256(pod['metadata']['uid'].encode()).hexdigest()[:5]}"
    out["spec"]["volumes"] = [*(spec.get("volumes") or []), api_access_volume(name)]
    for field in ("initContainers", "containers"):
        for c in out["spec"].get(field) or []:
            mount = {"name": name, "mountPath": SA_PATH, "readOnly": True}
            c["volumeMounts"] = [*(c.get("volumeMounts") or []), mount]
    return out


def _checked(path: str) -> str:
    if not path or path.startswith("/") or ".." in path.split("/") or path.startswith(".."):
        raise VolumeError(f"invalid path {path!r}: must be relative and may not contain '..'")
    return posixpath.normpath(path)


def _keyed(src: dict[str, Any], kind: str, sources: Sources, default_mode: int) -> Files:
    name = str(src.get("name") or src.get("secretName") or "")
    data = lookup(sources, kind, name)
    if data is None:
        if src.get("optional"):
            return {}
        raise VolumeError(f'{kind} "{name}" not found')
    items = src.get("items")
    if not items:
        return {_checked(k): (v, default_mode) for k, v in data.items()}
    out: Files = {}
    for item in items:
        key = str(item.get("key", ""))
        if key not in data:
            if src.get("optional"):
                continue
            raise VolumeError(f"{kind} references non-existent config key: {key}")
        out[_checked(str(item.get("path", key)))] = (data[key], int(item.get("mode", default_mode)))
    return out


def _labels(values: dict[str, str]) -> bytes:
    return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items())).encode()


def _downward(src: dict[str, Any], pod: dict[str, Any], default_mode: int) -> Files:
    meta = pod["metadata"]
    fields = {
        "metadata.name": str(meta.get("name", "")).encode(),
        "metadata.namespace": str(meta.get("namespace", "default")).encode(),
        "metadata.uid": str(meta.get("uid", "")).encode(),
        "metadata.labels": _labels(meta.get("labels") or {}),
        "metadata.annotations": _labels(meta.get("annotations") or {}),
        "spec.nodeName": str((pod.get("spec") or {}).get("nodeName", "")).encode(),
        "spec.serviceAccountName": str((pod.get("spec") or {}).get("serviceAccountName", "default")).encode(),
    }
    out: Files = {}
    for item in src.get("items") or []:
        ref = str((item.get("fieldRef") or {}).get("fieldPath", ""))
        if ref not in fields:
            raise VolumeError(f"downwardAPI item {item.get('path')}: unsupported fieldPath {ref!r}")
        out[_checked(str(item.get("path", "")))] = (fields[ref], int(item.get("mode", default_mode)))
    return out


def _token(src: dict[str, Any], sources: Sources, tokens: Tokens, default_mode: int) -> Files:
    if sources.account_error:
        raise VolumeError(sources.account_error)
    path = _checked(str(src.get("path", "token")))
    audience = src.get("audience")
    seconds = int(src.get("expirationSeconds", SA_TOKEN_SECONDS))
    if seconds < 600:
        raise VolumeError("serviceAccountToken expirationSeconds must be at least 600")
    return {path: (tokens(path, [str(audience)] if audience else [], seconds).encode(), default_mode)}


def volume_files(vol: dict[str, Any], pod: dict[str, Any], sources: Sources, tokens: Tokens) -> Files:
    """The files of one API-backed volume; ``VolumeError`` when a source is missing."""
    for kind, key in (("configmap", "configMap"), ("secret", "secret")):
        if key in vol:
            mode = int(vol[key].get("defaultMode", DEFAULT_MODE))
            return _keyed(vol[key], kind, sources, mode)
    if "downwardAPI" in vol:
        return _downward(vol["downwardAPI"], pod, int(vol["downwardAPI"].get("defaultMode", DEFAULT_MODE)))
    projected = vol.get("projected") or {}
    mode = int(projected.get("defaultMode", DEFAULT_MODE))
    out: Files = {}
    for src in projected.get("sources") or []:
        if "configMap" in src:
            out.update(_keyed(src["configMap"], "configmap", sources, mode))
        elif "secret" in src:
            out.update(_keyed(src["secret"], "secret", sources, mode))
        elif "downwardAPI" in src:
            out.update(_downward(src["downwardAPI"], pod, mode))
        elif "serviceAccountToken" in src:
            out.update(_token(src["serviceAccountToken"], sources, tokens, mode))
    return out
