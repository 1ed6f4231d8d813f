"""Builds the agent's parts from its flags: the only module that knows them all (IO adapters).

The Kubernetes side uses the real ``kubernetes`` client: informers over ArmorProfiles (all
namespaces) and over the pods of this node (field selector ``spec.nodeName``), and look-ups of
where the status service answers — the pod labelled ``identity=leader`` in the install namespace,
checked against the CA in the manager's webhook configuration, under the Service's DNS name.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import logging
import pathlib
import secrets
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client

from agent import checks, cli, reporting
from agent.containers import CriRuntime, cgroup_from_proc
from agent.installing import ProfileInstaller
from agent.recording import Sink
from agent.running import Agent, Settings
from agent.violations import KmsgReader, Violation, ViolationWatcher
from agent.windows import WiredContainer
from api.names import (
    ARMOR_PROFILES,
    GROUP,
    LEADER_LABEL,
    MANAGER_DEPLOYMENT,
    MUTATING_CONFIGURATION,
    STATUS_SERVICE,
    STATUS_SERVICE_PORT,
    VARMOR_CLUSTER_POLICY,
    VERSION,
)
from controller.informers import Informer
from controller.kube import api_client

log = logging.getLogger(__name__)


def runtime(args: argparse.Namespace, paths: checks.NodePaths) -> CriRuntime:
    root = pathlib.Path(args.cgroupRoot) if args.cgroupRoot else checks.cgroup2_root(paths)
    return CriRuntime(pathlib.Path(args.containerdSocket), root or pathlib.Path("/sys/fs/cgroup"))


def compile_tracer_ahead(cache_dir: str | None = None) -> threading.Thread:
    """Compile the tracer's BPF program for this node now, in the background: the first modeling
    window's tracer then loads it from the node's cache (a fifth of a second) instead of compiling it
    first (over a second, during which the window's first events are not recorded). A failure is
    only logged here: the tracer reports it again, to the window that needs it."""

    def compile_now() -> None:
        from tracer import program

        try:
            flags = program.cflags()
            program.compiled(flags, cache_dir or program.CACHE_DIR)
        except Exception as error:  # any failure is the tracer's to report later
            log.warning("Compiling the tracer program ahead of the first window failed: %s", error)

    thread = threading.Thread(target=compile_now, name="tracer-compile", daemon=True)
    thread.start()
    return thread


class SupervisedTracer:
    """The tracer client as the agent's ``TracerPort`` (adds ``alive``)."""

    def __init__(self, sink: Sink) -> None:
        from tracer.client import TracerClient

        self.client = TracerClient(sink)

    def add(self, name: str, spec: str) -> None:
        self.client.add(name, spec)

    def remove(self, name: str) -> None:
        self.client.remove(name)

    def flush(self) -> dict[str, int]:
        return self.client.flush()

    def close(self, timeout: float = 30.0) -> None:
        self.client.close(timeout)

    def alive(self) -> bool:
        return self.client.proc.poll() is None


class InformerSources:
    def __init__(self, profiles: Informer, pods: Informer) -> None:
        self.profiles, self.pod_informer = profiles, pods

    def armor_profiles(self) -> list[dict[str, Any]]:
        return list(self.profiles.cache.values())

    def pods(self) -> list[dict[str, Any]]:
        return list(self.pod_informer.cache.values())


def _post(core: Any, namespace: str, involved: dict[str, Any], reason: str, kind: str, message: str,
          node: str) -> None:
    """Create one core/v1 Event; a refusal is logged, never raised (Events are best effort)."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "metadata": {"name": f"{involved['name']}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": involved, "reason": reason, "type": kind, "count": 1,
        "firstTimestamp": now, "lastTimestamp": now, "message": message,
        "source": {"component": "varmor-agent", "host": node},
    }
    try:
        core.create_namespaced_event(namespace, event)
    except client.ApiException as error:
        log.warning("Could not record an Event object=%s/%s reason=%s status=%s", namespace,
                    involved["name"], reason, error.status)


def _container_ref(container: WiredContainer) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1", "namespace": container.pod_namespace,
            "name": container.pod_name, "fieldPath": f"spec.containers{{{container.name}}}"}


class PodEvents:
    """Posts a core/v1 Event on a pod when one of its containers starts being recorded."""

    def __init__(self, core: Any) -> None:
        self.core = core

    def recording(self, container: WiredContainer, node: str) -> None:
        _post(self.core, container.pod_namespace, _container_ref(container), "Recording", "Normal",
              f"varmor-agent on {node} records container {container.name} for {container.profile}", node)


class ViolationEvents:
    """Warning Events, on the policy and on the pod, for a syscall its enforcing profile would deny;
    and the violation for the model's ``status.violations`` (``send(path, body)``, retried)."""

    def __init__(self, core: Any, profiles: Informer, node: str,
                 send: Callable[[str, dict[str, Any]], None] = lambda _p, _b: None) -> None:
        self.core, self.profiles, self.node, self.send = core, profiles, node, send

    def __call__(self, container: WiredContainer, violation: Violation) -> None:
        message = (f"seccomp profile {container.profile} would deny {violation.syscall} in "
                   f"{container.pod_namespace}/{container.pod_name} container {container.name} "
                   f"(exe {violation.exe or violation.comm}); allowed and logged: allowViolations is true")
        _post(self.core, container.pod_namespace, _container_ref(container), "Violation", "Warning", message,
              self.node)
        for armor_profile in list(self.profiles.cache.values()):
            meta = armor_profile.get("metadata") or {}
            owners = meta.get("ownerReferences") or []
            if meta.get("name") != container.profile or not owners:
                continue
            owner = owners[0]
            cluster = owner.get("kind") == VARMOR_CLUSTER_POLICY
            involved = {key: owner.get(key) for key in ("kind", "apiVersion", "name", "uid")}
            if not cluster:
                involved["namespace"] = meta.get("namespace")
            _post(self.core, "default" if cluster else str(meta.get("namespace")), involved, "Violation",
                  "Warning", message, self.node)
            item = {"pod": f"{container.pod_namespace}/{container.pod_name}", "container": container.name,
                    "syscall": violation.syscall, "exe": violation.exe or violation.comm}
            body = {"namespace": meta.get("namespace"), "armorProfile": container.profile,
                    "nodeName": self.node, "status": "succeeded", "violations": [item]}
            self.send("/apis/v1/violations", body)


def status_resolver(core: Any, admission: Any, namespace: str, fixed_url: str) -> Any:
    """Finds the status service for each attempt: ``fixed_url``, or the leader pod's IP."""

    def resolve() -> reporting.Endpoint:
        ca_bundle = None
        for name in (MUTATING_CONFIGURATION, MUTATING_CONFIGURATION + "-debug"):  # in or out of cluster
            try:
                hooks = admission.read_mutating_webhook_configuration(name).webhooks or []
            except client.ApiException as error:
                if error.status == 404:
                    continue
                raise LookupError(f"cannot read the manager's CA: {error.status} {error.reason}") from None
            encoded = hooks[0].client_config.ca_bundle if hooks else None
            ca_bundle = base64.b64decode(encoded).decode() if encoded else None
            break
        service_name = f"{STATUS_SERVICE}.{namespace}.svc"
        if fixed_url:
            return reporting.Endpoint(fixed_url, ca_bundle)
        selector = f"app={MANAGER_DEPLOYMENT},{LEADER_LABEL[0]}={LEADER_LABEL[1]}"
        leaders = core.list_namespaced_pod(namespace, label_selector=selector).items
        ips = [p.status.pod_ip for p in leaders if p.status and p.status.pod_ip]
        if not ips:
            raise LookupError(f"no leader manager pod in namespace {namespace} yet")
        return reporting.Endpoint(f"https://{ips[0]}:{STATUS_SERVICE_PORT}", ca_bundle, service_name)

    return resolve


def violation_watcher(core: Any, profiles: Informer, node: str, node_runtime: CriRuntime,
                      send: Callable[[str, dict[str, Any]], None]) -> ViolationWatcher | None:
    """The watcher of allowed violations, when the kernel log can be read (else none, said once)."""
    try:
        reader = KmsgReader()
    except OSError as error:
        log.warning("Violations of allowViolations profiles are not recorded: cannot read %s: %s",
                    error.filename, error.strerror)
        return None
    return ViolationWatcher(reader.read, lambda pid: cgroup_from_proc(pid, node_runtime.cgroup_root),
                            ViolationEvents(core, profiles, node, send))


def build(args: argparse.Namespace, node_runtime: CriRuntime) -> tuple[Agent, list[Informer], cli.Readiness]:
    api: Any = api_client(args.kubeconfig)
    custom: Any = client.CustomObjectsApi(api)
    core: Any = client.CoreV1Api(api)
    admission: Any = client.AdmissionregistrationV1Api(api)
    seccomp_root, apparmor_dir, state_dir = cli.default_paths(args)
    status = reporting.StatusClient(status_resolver(core, admission, args.namespace, args.statusService),
                                    pathlib.Path(args.tokenPath))
    agent_ref: list[Agent] = []

    def changed() -> None:
        if agent_ref:
            agent_ref[0].poke()

    audit_logs = tuple(path for path in args.auditLogPaths.split("|") if path)
    settings = Settings(node=args.nodeName, state_dir=state_dir, modeling=args.enableBehaviorModeling,
                        audit_log_paths=audit_logs, report_rate=args.reportRate)
    def pods_on_node(**kw: Any) -> Any:
        answer = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={args.nodeName}", **kw)
        return answer if kw.get("watch") else api.sanitize_for_serialization(answer)

    def send(path: str, body: dict[str, Any]) -> None:  # in the background, until confirmed or stopped
        if agent_ref:
            agent_ref[0].background(f"violations {body['armorProfile']}", path, body, lambda: None)

    profiles = Informer("armorprofiles", lambda **kw: custom.list_cluster_custom_object(
        GROUP, VERSION, ARMOR_PROFILES, **kw), lambda _kind, _obj: changed())
    pods = Informer("pods", pods_on_node, lambda _kind, _obj: changed())
    agent = Agent(settings, InformerSources(profiles, pods),
                  ProfileInstaller(seccomp_root, apparmor_dir), node_runtime, SupervisedTracer, status,
                  PodEvents(core),
                  violations=violation_watcher(core, profiles, args.nodeName, node_runtime, send))
    agent_ref.append(agent)
    if args.enableBehaviorModeling:
        compile_tracer_ahead()
    readiness = cli.Readiness(args.readinessPort)
    readiness.start()
    return agent, [profiles, pods], readiness
