"""Pod objects as the CRI requests kubelet sends for them (pure).

``sandbox_config`` builds the ``PodSandboxConfig`` (metadata, hostname, log directory, the pod's
labels plus kubelet's ``io.kubernetes.pod.*`` labels, the cgroup parent that kubelet's cgroupfs
driver names ``/kubepods[/<qos>]/pod<uid>``, namespace modes for hostNetwork/hostPID/hostIPC and
shareProcessNamespace). ``container_config`` builds one ``ContainerConfig``: command and args
unchanged (the image's entrypoint and cmd fill the gaps, in containerd), env (``sources``), hostPath,
emptyDir and read-only configMap/secret/downwardAPI/projected mounts, kubelet's labels and
annotations, a log path ``<name>/<restartCount>.log``, and the security
context: privileged, capabilities, user/group, read-only root, Localhost seccomp profiles resolved
in the node's seccomp root. AppArmor profiles are not passed: this kernel has no AppArmor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cri import runtime_pb2 as pb
from localcluster.node.pods import expand, qos_class
from localcluster.node.sources import Sources, environment
from localcluster.node.volumes import API_KINDS
from localcluster.runtime import dns

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"


def cgroup_parent(pod: dict[str, Any]) -> str:
    """kubelet's cgroupfs-driver pod cgroup: ``/kubepods/besteffort/pod<uid>`` and friends."""
    uid = pod["metadata"]["uid"]
    qos = qos_class(pod.get("spec", {}).get("containers") or [])
    return f"/kubepods/pod{uid}" if qos == "Guaranteed" else f"/kubepods/{qos.lower()}/pod{uid}"


def _modes(spec: dict[str, Any]) -> Any:
    pid = pb.NODE if spec.get("hostPID") else pb.POD if spec.get("shareProcessNamespace") else pb.CONTAINER
    return pb.NamespaceOption(
        network=pb.NODE if spec.get("hostNetwork") else pb.POD,
        pid=pid,
        ipc=pb.NODE if spec.get("hostIPC") else pb.POD,
    )


def pod_labels(pod: dict[str, Any]) -> dict[str, str]:
    meta = pod["metadata"]
    return {
        **(meta.get("labels") or {}),
        POD_NAME: meta["name"],
        POD_NAMESPACE: meta.get("namespace", "default"),
        POD_UID: meta["uid"],
    }


def dns_config(pod: dict[str, Any], nameserver: str) -> Any:
    """kubelet's ClusterFirst resolv.conf; host-network pods (and no nameserver) keep the host's."""
    spec = pod.get("spec", {})
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    cluster = policy == "ClusterFirstWithHostNet" or (
        policy == "ClusterFirst" and not spec.get("hostNetwork")
    )
    if not nameserver or not cluster:
        return None
    ns = pod["metadata"].get("namespace", "default")
    return pb.DNSConfig(servers=[nameserver], searches=dns.search_path(ns), options=["ndots:5"])


def sandbox_config(pod: dict[str, Any], log_dir: Path, nameserver: str = "", attempt: int = 0) -> Any:
    meta, spec = pod["metadata"], pod.get("spec", {})
    privileged = any((c.get("securityContext") or {}).get("privileged") for c in spec.get("containers") or [])
    ctx = pb.LinuxSandboxSecurityContext(namespace_options=_modes(spec), privileged=bool(privileged))
    _user(ctx, spec.get("securityContext") or {})
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(
            name=meta["name"], uid=meta["uid"], namespace=meta.get("namespace", "default"), attempt=attempt
        ),
        hostname="" if spec.get("hostNetwork") else (spec.get("hostname") or meta["name"])[:63],
        log_directory=str(log_dir),
        dns_config=dns_config(pod, nameserver),
        labels=pod_labels(pod),
        annotations=meta.get("annotations") or {},
        linux=pb.LinuxPodSandboxConfig(cgroup_parent=cgroup_parent(pod), security_context=ctx),
    )


def _user(ctx: Any, raw: dict[str, Any]) -> None:
    if raw.get("runAsUser") is not None:
        ctx.run_as_user.value = int(raw["runAsUser"])
    if raw.get("runAsGroup") is not None:
        ctx.run_as_group.value = int(raw["runAsGroup"])


def seccomp_profile(raw: dict[str, Any] | None, seccomp_root: Path) -> Any:
    """The CRI ``SecurityProfile`` for a pod/container ``seccompProfile`` (unset → Unconfined)."""
    kind = (raw or {}).get("type")
    if kind == "Localhost":
        ref = str(seccomp_root / str((raw or {}).get("localhostProfile", "")))
        return pb.SecurityProfile(profile_type=pb.SecurityProfile.Localhost, localhost_ref=ref)
    if kind == "RuntimeDefault":
        return pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault)
    return pb.SecurityProfile(profile_type=pb.SecurityProfile.Unconfined)


def _security(pod: dict[str, Any], c: dict[str, Any], seccomp_root: Path) -> Any:
    spec = pod.get("spec", {})
    pod_ctx, ctx = spec.get("securityContext") or {}, c.get("securityContext") or {}
    caps = ctx.get("capabilities") or {}
    out = pb.LinuxContainerSecurityContext(
        privileged=bool(ctx.get("privileged")),
        namespace_options=_modes(spec),
        readonly_rootfs=bool(ctx.get("readOnlyRootFilesystem")),
        no_new_privs=ctx.get("allowPrivilegeEscalation") is False,
        capabilities=pb.Capability(
            add_capabilities=[str(x) for x in caps.get("add") or []],
            drop_capabilities=[str(x) for x in caps.get("drop") or []],
        ),
        seccomp=seccomp_profile(ctx.get("seccompProfile") or pod_ctx.get("seccompProfile"), seccomp_root),
    )
    _user(out, {**pod_ctx, **ctx})
    return out


def mounts(pod: dict[str, Any], c: dict[str, Any], volume_dir: Path) -> list[Any]:
    """hostPath, emptyDir and the API-backed volumes (always read-only, as kubelet mounts them)."""
    volumes = {v["name"]: v for v in pod.get("spec", {}).get("volumes") or []}
    out = []
    for m in c.get("volumeMounts") or []:
        vol = volumes.get(m.get("name", ""), {})
        readonly = bool(m.get("readOnly"))
        if "hostPath" in vol:
            source = Path(vol["hostPath"].get("path", "/"))
        elif "emptyDir" in vol:
            source = volume_dir / m["name"]
        elif any(kind in vol for kind in API_KINDS):
            source, readonly = volume_dir / m["name"], True
        else:
            continue
        host = source / m["subPath"] if m.get("subPath") else source
        if m.get("subPath") and not ("hostPath" in vol or "emptyDir" in vol):
            host = Path(os.path.realpath(host))  # a file behind ..data: bind what it points at now
        out.append(pb.Mount(container_path=m["mountPath"], host_path=str(host), readonly=readonly))
    return out


def container_config(
    pod: dict[str, Any],
    c: dict[str, Any],
    restart_count: int,
    seccomp_root: Path,
    volume_dir: Path,
    pod_ip: str,
    host_ip: str = "",
    sources: Sources | None = None,
) -> tuple[Any, str | None]:
    """The ``ContainerConfig``, and why the container cannot be configured (or None)."""
    meta = pod["metadata"]
    fields = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta.get("namespace", "default"),
        "metadata.uid": meta["uid"],
        "spec.nodeName": pod.get("spec", {}).get("nodeName", ""),
        "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName", "default"),
        "status.podIP": pod_ip,
        "status.hostIP": host_ip or pod_ip,
    }
    env, problem = environment(c, fields, sources)
    lookup = dict(env)
    envs = [pb.KeyValue(key=k, value=v) for k, v in env if k not in ("PATH", "HOSTNAME")]
    labels = {k: v for k, v in pod_labels(pod).items() if k.startswith("io.kubernetes.")}
    config = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=c["name"], attempt=restart_count),
        image=pb.ImageSpec(image=c.get("image", "")),
        command=[expand(a, lookup) for a in c.get("command") or []],
        args=[expand(a, lookup) for a in c.get("args") or []],
        working_dir=c.get("workingDir") or "",
        envs=envs,
        mounts=mounts(pod, c, volume_dir),
        labels={**labels, CONTAINER_NAME: c["name"]},
        annotations={
            "io.kubernetes.container.restartCount": str(restart_count),
            "io.kubernetes.container.terminationMessagePath": c.get(
                "terminationMessagePath", "/dev/termination-log"
            ),
            "io.kubernetes.pod.terminationGracePeriod": str(
                pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
            ),
        },
        log_path=f"{c['name']}/{restart_count}.log",
        stdin=bool(c.get("stdin")),
        stdin_once=bool(c.get("stdinOnce")),
        tty=bool(c.get("tty")),
        linux=pb.LinuxContainerConfig(security_context=_security(pod, c, seccomp_root)),
    )
    return config, problem
