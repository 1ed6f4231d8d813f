"""What a pod's containers read from the API, as kubelet resolves it: ConfigMaps, Secrets, Services (pure).

The kubelet loop reads, for each pod, the ConfigMaps and Secrets its volumes and env name
(``references``), its ServiceAccount and the ``kubernetes`` Service's endpoint, and hands the node one
frozen ``Sources``. ``environment`` builds a container's env as kubelet does: the Service link
variables (``KUBERNETES_SERVICE_HOST``/``PORT`` and the docker-link ``KUBERNETES_PORT_*``), then
``envFrom``, then ``env`` with ``value`` (``$(VAR)`` expanded), ``fieldRef``, ``configMapKeyRef`` and
``secretKeyRef``; what cannot be resolved is the ``CreateContainerConfigError`` message kubelet gives.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcluster.node.pods import DEFAULT_PATH, expand

TokenIssuer = Callable[[list[str], int], tuple[str, float]]  # (audiences, seconds) -> (token, expiry epoch)


def _no_token(_audiences: list[str], _seconds: int) -> tuple[str, float]:
    raise LookupError("no ServiceAccount token issuer on this node")


@dataclass(frozen=True)
class Sources:
    """The API objects one pod's containers read; ``None`` marks a ConfigMap/Secret that does not exist."""

    namespace: str = "default"
    configmaps: Mapping[str, dict[str, Any] | None] = field(default_factory=dict)
    secrets: Mapping[str, dict[str, Any] | None] = field(default_factory=dict)
    service_env: tuple[tuple[str, str], ...] = ()
    token: TokenIssuer = _no_token
    account_error: str = ""  # why no token can be issued (the ServiceAccount is missing)


def references(pod: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The names of the ConfigMaps and Secrets that ``pod``'s volumes and env read."""
    spec = pod.get("spec") or {}
    configmaps: set[str] = set()
    secrets: set[str] = set()
    sources = []
    for vol in spec.get("volumes") or []:
        sources.append(vol)
        sources += (vol.get("projected") or {}).get("sources") or []
    for src in sources:
        if "configMap" in src:
            configmaps.add(str(src["configMap"].get("name", "")))
        if "secret" in src:
            secrets.add(str(src["secret"].get("secretName") or src["secret"].get("name") or ""))
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for ref in c.get("envFrom") or []:
            configmaps |= {str(ref["configMapRef"].get("name", ""))} if "configMapRef" in ref else set()
            secrets |= {str(ref["secretRef"].get("name", ""))} if "secretRef" in ref else set()
        for item in c.get("env") or []:
            value_from = item.get("valueFrom") or {}
            if "configMapKeyRef" in value_from:
                configmaps.add(str(value_from["configMapKeyRef"].get("name", "")))
            if "secretKeyRef" in value_from:
                secrets.add(str(value_from["secretKeyRef"].get("name", "")))
    return configmaps, secrets


def configmap_data(obj: dict[str, Any]) -> dict[str, bytes]:
    out = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return out


def secret_data(obj: dict[str, Any]) -> dict[str, bytes]:
    out = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    out.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
    return out


def lookup(sources: Sources, kind: str, name: str) -> dict[str, bytes] | None:
    """The data of ConfigMap or Secret ``name`` (``kind`` is ``configmap``/``secret``), None when absent."""
    if kind == "configmap":
        obj = sources.configmaps.get(name)
        return None if obj is None else configmap_data(obj)
    obj = sources.secrets.get(name)
    return None if obj is None else secret_data(obj)


def service_env(name: str, host: str, port: int, port_name: str = "https") -> list[tuple[str, str]]:
    """kubelet's Service link variables for one single-port TCP Service."""
    prefix = name.upper().replace("-", "_")
    url = f"tcp://{host}:{port}"
    return [
        (f"{prefix}_SERVICE_HOST", host),
        (f"{prefix}_SERVICE_PORT", str(port)),
        *([(f"{prefix}_SERVICE_PORT_{port_name.upper().replace('-', '_')}", str(port))] if port_name else []),
        (f"{prefix}_PORT", url),
        (f"{prefix}_PORT_{port}_TCP", url),
        (f"{prefix}_PORT_{port}_TCP_PROTO", "tcp"),
        (f"{prefix}_PORT_{port}_TCP_PORT", str(port)),
        (f"{prefix}_PORT_{port}_TCP_ADDR", host),
    ]


def _key_ref(ref: dict[str, Any], kind: str, sources: Sources) -> str | None:
    """The value of a configMapKeyRef/secretKeyRef; ``LookupError`` with kubelet's message."""
    name, key = str(ref.get("name", "")), str(ref.get("key", ""))
    data = lookup(sources, kind, name)
    label = "ConfigMap" if kind == "configmap" else "Secret"
    if data is None:
        if ref.get("optional"):
            return None
        raise LookupError(f'{kind} "{name}" not found')
    if key not in data:
        if ref.get("optional"):
            return None
        raise LookupError(f"couldn't find key {key} in {label} {sources.namespace}/{name}")
    return data[key].decode(errors="replace")


def _env_from(c: dict[str, Any], sources: Sources, env: dict[str, str]) -> None:
    for ref in c.get("envFrom") or []:
        kind = "configmap" if "configMapRef" in ref else "secret"
        spec = ref.get("configMapRef") or ref.get("secretRef")
        name = str((spec or {}).get("name", ""))
        data = lookup(sources, kind, name)
        if data is None:
            if (spec or {}).get("optional"):
                continue
            raise LookupError(f'{kind} "{name}" not found')
        for key, value in data.items():
            env[f"{ref.get('prefix', '')}{key}"] = value.decode(errors="replace")


def environment(
    c: dict[str, Any], fields: dict[str, str], sources: Sources | None
) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """The container's env in order, and why it cannot be built (None when it can)."""
    sources = sources or Sources()
    env: dict[str, str] = {"PATH": DEFAULT_PATH, "HOSTNAME": fields["metadata.name"]}
    env.update(sources.service_env)
    try:
        _env_from(c, sources, env)
        for item in c.get("env") or []:
            value_from = item.get("valueFrom") or {}
            ref = (value_from.get("fieldRef") or {}).get("fieldPath")
            if "value" in item or not value_from:
                env[item["name"]] = expand(str(item.get("value", "")), env)
            elif ref is not None:
                if ref not in fields:
                    raise LookupError(f"env {item['name']}: unsupported fieldPath {ref}")
                env[item["name"]] = fields[ref]
            elif "configMapKeyRef" in value_from or "secretKeyRef" in value_from:
                kind = "configmap" if "configMapKeyRef" in value_from else "secret"
                key_ref = value_from.get("configMapKeyRef") or value_from["secretKeyRef"]
                value = _key_ref(key_ref, kind, sources)
                if value is not None:
                    env[item["name"]] = value
            else:
                raise LookupError(f"env {item['name']}: resourceFieldRef is not supported")
    except LookupError as err:
        return tuple(env.items()), str(err.args[0])
    return tuple(env.items()), None
