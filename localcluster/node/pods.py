"""What the node needs from a Pod object: a frozen ``PodSpec`` with one ``ContainerSpec`` each.

Pure functions over the Pod dict the API server stores. They pick the QoS class (which names the
pod's cgroup slice), the command line (``command`` + ``args``; images are not pulled, so a container
without ``command`` runs its ``args``), the environment (``env`` values and the ``fieldRef``s a node
can answer, ``$(VAR)`` expansion), the seccomp profile (container wins over pod) and the AppArmor
profile, which is only recorded. ``simulator`` turns the spec into processes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

QosClass = Literal["Guaranteed", "Burstable", "BestEffort"]
RestartPolicy = Literal["Always", "OnFailure", "Never"]
_POLICIES = ("Always", "OnFailure", "Never")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


@dataclass(frozen=True)
class ContainerSpec:
    """One container as the node runs it."""

    name: str
    image: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    working_dir: str
    seccomp: str | None  # "localhost/<file>", "runtime/default", "unconfined" or None (unset)
    apparmor: str | None  # same notation; recorded only
    problem: str | None = None  # why the container cannot be created (CreateContainerConfigError)


@dataclass(frozen=True)
class PodSpec:
    """One pod as the node runs it."""

    uid: str
    namespace: str
    name: str
    restart_policy: RestartPolicy
    share_process_namespace: bool
    qos: QosClass
    containers: tuple[ContainerSpec, ...]


def pod_spec(pod: dict[str, Any], host_ip: str, node_name: str) -> PodSpec:
    """Read the parts of a Pod the node acts on."""
    meta, spec = pod.get("metadata", {}), pod.get("spec", {})
    restart: RestartPolicy = spec.get("restartPolicy") if spec.get("restartPolicy") in _POLICIES else "Always"
    fields = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", "default"),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName") or node_name,
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
        "status.podIP": host_ip,
        "status.hostIP": host_ip,
    }
    return PodSpec(
        uid=meta["uid"],
        namespace=fields["metadata.namespace"],
        name=fields["metadata.name"],
        restart_policy=restart,
        share_process_namespace=bool(spec.get("shareProcessNamespace")),
        qos=qos_class(spec.get("containers", [])),
        containers=tuple(_container(c, pod, fields) for c in spec.get("containers", [])),
    )


def qos_class(containers: list[dict[str, Any]]) -> QosClass:
    """The Kubernetes QoS class from requests and limits of cpu and memory."""
    requests = [c.get("resources", {}).get("requests") or {} for c in containers]
    limits = [c.get("resources", {}).get("limits") or {} for c in containers]
    kinds = ("cpu", "memory")
    if not any(k in r for r in requests + limits for k in kinds):
        return "BestEffort"
    guaranteed = all(
        all(k in lim and req.get(k, lim[k]) == lim[k] for k in kinds)
        for req, lim in zip(requests, limits, strict=True)
    )
    return "Guaranteed" if guaranteed else "Burstable"


def _container(c: dict[str, Any], pod: dict[str, Any], fields: dict[str, str]) -> ContainerSpec:
    env, problem = environment(c, fields)
    lookup = dict(env)
    argv = tuple(expand(a, lookup) for a in (c.get("command") or []) + (c.get("args") or []))
    if not argv:
        problem = problem or "no command: images are not pulled, so command or args must be set"
    pod_ctx = pod.get("spec", {}).get("securityContext") or {}
    ctx = c.get("securityContext") or {}
    annotations = pod.get("metadata", {}).get("annotations") or {}
    apparmor = _profile(ctx.get("appArmorProfile") or pod_ctx.get("appArmorProfile"))
    legacy = annotations.get(f"container.apparmor.security.beta.kubernetes.io/{c['name']}")
    return ContainerSpec(
        name=c["name"],
        image=c.get("image", ""),
        argv=argv,
        env=env,
        working_dir=c.get("workingDir") or "/",
        seccomp=_profile(ctx.get("seccompProfile") or pod_ctx.get("seccompProfile")),
        apparmor=apparmor or legacy,
        problem=problem,
    )


def environment(c: dict[str, Any], fields: dict[str, str]) -> tuple[tuple[tuple[str, str], ...], str | None]:
    env: dict[str, str] = {"PATH": DEFAULT_PATH, "HOSTNAME": fields["metadata.name"]}
    problem = None
    for item in c.get("env") or []:
        ref = (item.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
        if "value" in item or "valueFrom" not in item:
            env[item["name"]] = expand(str(item.get("value", "")), env)
        elif ref in fields:
            env[item["name"]] = fields[ref]
        else:
            problem = f"env {item['name']}: only value and fieldRef to pod fields are supported"
    return tuple(env.items()), problem


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: unknown references stay, ``$$`` escapes a dollar."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR.sub(one, text)


def _profile(raw: dict[str, Any] | None) -> str | None:
    """``{type, localhostProfile}`` as the CRI string form."""
    if not raw:
        return None
    kind = raw.get("type")
    if kind == "Localhost":
        return f"localhost/{raw.get('localhostProfile', '')}"
    return {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}.get(str(kind))
