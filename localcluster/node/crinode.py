"""A node whose pods run on the cluster's containerd through CRI, the way kubelet runs them.

``CriNode`` (made by ``criruntime.ContainerdRuntime``, which shares one containerd between the
cluster's nodes) implements ``NodePort``: ``start_pod`` runs the sandbox (``RunPodSandbox``) and syncs;
``pod_status`` is kubelet's ``syncPod`` — containers whose image is missing wait for it, containers
that cannot be created are retried with back-off, exited ones are restarted by the restart policy
(back-off between restarts, the RESTARTS count) — and returns the pod status. Events go to a queue
the kubelet loop drains. ``stop_pod`` stops containers with the grace period, then the sandbox, and
removes the pod's cgroups, volumes and logs.
"""

from __future__ import annotations

import concurrent.futures
import logging
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cri import runtime_pb2 as pb
from cri.client import CriClient, CriError
from localcluster.node import criconfigs, netdial, podcgroups, podvolumes, probing, slots, volumes
from localcluster.node.pods import qos_class
from localcluster.node.simulator import host_ip
from localcluster.node.sources import Sources

if TYPE_CHECKING:
    from localcluster.node import criruntime
from localcluster.runtime import images, pulling

log = logging.getLogger(__name__)

SHUTDOWN_CALL_TIMEOUT = 10.0
"""Seconds a CRI call may take while the node shuts down (a healthy containerd answers in well under
one); once one call times out the rest are skipped, and containerd's own stop, which follows,
removes what they would have."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class NodeEvent:
    """An Event the kubelet loop writes: about ``pod`` (uid, namespace, name), maybe one container."""

    uid: str
    namespace: str
    pod: str
    container: str
    type: str
    reason: str
    message: str


@dataclass
class PodState:
    pod: dict[str, Any]
    sandbox_id: str
    sandbox_config: Any
    pod_ip: str
    start_time: str
    slots: list[slots.Slot]
    log_dir: Path
    volume_dir: Path
    volumes: podvolumes.PodVolumes
    terminal: bool = False
    mount_failures: set[str] = field(default_factory=set)
    sandbox_retry_at: float = 0.0
    events: list[NodeEvent] = field(default_factory=list)


class CriNode:
    """One node's kubelet half: pods through CRI on the shared containerd."""

    def __init__(
        self, runtime: criruntime.ContainerdRuntime, name: str, state_dir: Path, seccomp_dir: Path
    ) -> None:
        assert runtime.cri is not None and runtime.puller is not None
        self.runtime = runtime
        self.cri: CriClient = runtime.cri
        self.puller: pulling.ImagePuller = runtime.puller
        self.node_name = name
        self.state_dir = state_dir
        self.seccomp_dir = seccomp_dir
        self.host_ip = host_ip()
        self.pods: dict[str, PodState] = {}
        self.sources: dict[str, Sources] = {}
        self.events: list[NodeEvent] = []
        self.prober = probing.Prober(self.cri)
        self._lock = threading.RLock()
        self._shutting_down = False
        self._unanswered = threading.Event()  # during shutdown: containerd let a call time out

    # -- NodePort ---------------------------------------------------------------------------------

    def start_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        uid = pod["metadata"]["uid"]
        with self._lock:
            if uid not in self.pods:
                self.pods[uid] = self._new_pod(pod)
            status = self.pod_status(uid)
        assert status is not None
        return status

    def update_sources(self, uid: str, sources: Sources) -> None:
        """What the pod's volumes and env read from the API now (the kubelet loop calls it each sync)."""
        with self._lock:
            self.sources[uid] = sources

    def pod_status(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            state = self.pods.get(uid)
            if state is None:
                return None
            mounted = self._mount(state)
            if not state.sandbox_id and mounted:
                self._run_sandbox(state)
            if not state.terminal:
                for slot in state.slots:
                    if slot.container_id or mounted:
                        self._sync(state, slot)
                    self._probe(state, slot)
            spec = state.pod.get("spec", {})
            policy = spec.get("restartPolicy") or "Always"
            qos = qos_class(spec.get("containers") or [])
            status = slots.pod_status(policy, state.slots, self.host_ip, state.pod_ip, state.start_time, qos)
            state.terminal = status["phase"] in ("Succeeded", "Failed")
            return status

    def stop_pod(self, uid: str, grace_seconds: float = 2.0) -> None:
        with self._lock:
            state = self.pods.pop(uid, None)
            self.sources.pop(uid, None)
        if state is not None:
            self._teardown(state, grace_seconds)

    def shutdown(self) -> None:
        with self._lock:
            states, self.pods = list(self.pods.values()), {}
            self._shutting_down = True
        self.prober.close()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda s: self._teardown(s, 0.0), states))
        podcgroups.remove_empty_qos()

    def drain_events(self) -> list[NodeEvent]:
        with self._lock:
            out, self.events = self.events, []
        return out

    # -- exec and logs ----------------------------------------------------------------------------

    def find(self, uid: str, container: str) -> slots.Slot:
        with self._lock:
            state = self.pods.get(uid)
            found = [s for s in state.slots if s.name == container] if state else []
        if not found:
            raise LookupError(f"container {container} is not valid for this pod")
        return found[0]

    def exec_url(self, uid: str, container: str, cmd: list[str], stdin: bool, tty: bool) -> str:
        slot = self.find(uid, container)
        if not slot.container_id or slot.waiting is not None or slot.terminated is not None:
            raise LookupError(f"container {container} is not running")
        request = pb.ExecRequest(
            container_id=slot.container_id, cmd=cmd, tty=tty, stdin=stdin, stdout=True, stderr=not tty
        )
        return str(self.cri.call("Exec", request).url)

    def exec_argv(self, uid: str, container: str, cmd: list[str]) -> list[str]:
        """A ``ctr tasks exec`` command line: a containerd task exec like CRI's, on local pipes.

        Used for non-TTY sessions with stdin, whose end of input containerd's v4 streaming server
        cannot pass on (``ctr`` closes the process's stdin at EOF)."""
        slot = self.find(uid, container)
        if not slot.container_id or slot.waiting is not None or slot.terminated is not None:
            raise LookupError(f"container {container} is not running")
        assert self.runtime.ctd is not None
        exec_id = f"exec-{secrets.token_hex(8)}"
        return self.runtime.ctd.ctr_argv("tasks", "exec", "--exec-id", exec_id, slot.container_id, *cmd)

    def netns(self, uid: str) -> str:
        """The pod's network namespace file ("" for ``hostNetwork`` pods and pods not running here)."""
        with self._lock:
            state = self.pods.get(uid)
        host = state is None or not state.sandbox_id or state.pod["spec"].get("hostNetwork")
        return "" if host or state is None else netdial.sandbox_netns(self.cri, state.sandbox_id)

    def log_file(self, uid: str, container: str, previous: bool) -> Path:
        slot = self.find(uid, container)
        with self._lock:
            log_dir = self.pods[uid].log_dir
        count = slot.restart_count - 1 if previous else slot.restart_count
        if count < 0 or (previous and not slot.last_terminated):
            raise LookupError(f'previous terminated container "{container}" not found')
        return log_dir / container / f"{count}.log"

    # -- syncing ----------------------------------------------------------------------------------

    def _new_pod(self, pod: dict[str, Any]) -> PodState:
        pod = volumes.with_service_account(pod)
        base = self.state_dir / "pods" / pod["metadata"]["uid"]
        pod_volumes = podvolumes.PodVolumes(base / "volumes")
        pod_volumes.prepare(pod)
        (base / "logs").mkdir(parents=True, exist_ok=True)
        containers = [slots.Slot(c) for c in pod["spec"].get("containers") or []]
        gateway = self.runtime.network.gateway if self.runtime.network else ""
        config = criconfigs.sandbox_config(pod, base / "logs", gateway)
        return PodState(pod, "", config, "", now(), containers, base / "logs", base / "volumes", pod_volumes)

    def _mount(self, state: PodState) -> bool:
        """Write the API-backed volumes; False (and a FailedMount Event) while one cannot be set up."""
        meta = state.pod["metadata"]
        sources = self.sources.get(meta["uid"]) or Sources(meta.get("namespace", "default"))
        failed = state.volumes.sync(state.pod, sources)
        for name, reason in failed:
            message = f'MountVolume.SetUp failed for volume "{name}" : {reason}'
            if message not in state.mount_failures:
                state.mount_failures.add(message)
                self._event(state, "", "Warning", "FailedMount", message)
        return not failed

    def _run_sandbox(self, state: PodState) -> None:
        """``RunPodSandbox`` once the sandbox image is there; failures are retried on the next sync."""
        if time.monotonic() < state.sandbox_retry_at:
            return
        pause = self.puller.check(images.PAUSE_IMAGE, "IfNotPresent")
        if pause.phase != "ready":
            return
        try:
            request = pb.RunPodSandboxRequest(config=state.sandbox_config)
            state.sandbox_id = self.cri.call("RunPodSandbox", request).pod_sandbox_id
        except CriError as err:
            state.sandbox_retry_at = time.monotonic() + 2.0
            self._event(
                state, "", "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {err.message}"
            )
            return
        request = pb.PodSandboxStatusRequest(pod_sandbox_id=state.sandbox_id)
        sandbox = self.cri.call("PodSandboxStatus", request)
        host_network = state.pod["spec"].get("hostNetwork")
        state.pod_ip = self.host_ip if host_network else sandbox.status.network.ip

    def _sync(self, state: PodState, slot: slots.Slot) -> None:
        """One step of kubelet's syncPod for one container."""
        if not state.sandbox_id:
            return
        if slot.container_id and not self._observe(state, slot):
            return
        if time.monotonic() < slot.retry_at:
            return
        self._create(state, slot)

    def _observe(self, state: PodState, slot: slots.Slot) -> bool:
        """Read the container's state; True when a new instance should be created now."""
        try:
            st = self.cri.call(
                "ContainerStatus", pb.ContainerStatusRequest(container_id=slot.container_id)
            ).status
        except CriError:
            st = None
        if st is not None and st.state == pb.CONTAINER_CREATED:
            return False
        if st is not None and st.state == pb.CONTAINER_RUNNING:
            slot.waiting, slot.terminated = None, None
            slot.running_since = slot.running_since or slots.stamp(st.started_at, now())
            return False
        policy = state.pod.get("spec", {}).get("restartPolicy") or "Always"
        if slot.terminated is None:
            slot.terminated, slot.waiting = slots.terminated_state(slot, st, now()), None
            if slots.restart_wanted(policy, slot.terminated["exitCode"]):
                slot.next_backoff(time.monotonic(), self.runtime.backoff_base)
        if not slots.restart_wanted(policy, slot.terminated["exitCode"]):
            return False
        if time.monotonic() < slot.retry_at:
            slot.last_terminated = slot.terminated
            slot.waiting = (
                "CrashLoopBackOff",
                f"back-off {int(slot.backoff)}s restarting failed container="
                f"{slot.name} pod={_pod_ref(state.pod)}",
            )
            self._event(
                state,
                slot.name,
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {slot.name} in pod {_pod_ref(state.pod)}",
            )
            return False
        return True

    def _create(self, state: PodState, slot: slots.Slot) -> None:
        if slot.container_id:  # a restart: keep one dead instance for `logs --previous`
            if slot.terminated is not None:
                slot.last_terminated = slot.terminated
            if slot.previous_id:
                self._remove_container(slot.previous_id)
            slot.previous_id, slot.container_id = slot.container_id, ""
            slot.restart_count += 1
            slot.terminated, slot.running_since = None, ""
        image = slot.spec.get("image", "")
        pulled = self.puller.check(image, slot.spec.get("imagePullPolicy") or "IfNotPresent")
        if pulled.phase != "ready":
            self._wait(state, slot, pulled.reason, pulled.message, pulled.phase == "failed")
            if pulled.phase == "pulling":
                slot.pull_started = slot.pull_started or time.monotonic()
                self._event(state, slot.name, "Normal", "Pulling", f'Pulling image "{image}"')
            return
        slot.image_id = pulled.image_id
        if ("Pulled", image) not in slot.reported:
            slot.reported.add(("Pulled", image))
            took = time.monotonic() - slot.pull_started
            message = (
                f'Successfully pulled image "{image}" in {took:.3f}s'
                if slot.pull_started
                else f'Container image "{image}" already present on machine'
            )
            slot.pull_started = 0.0
            self._event(state, slot.name, "Normal", "Pulled", message)
        config, problem = criconfigs.container_config(
            state.pod,
            slot.spec,
            slot.restart_count,
            self.seccomp_dir,
            state.volume_dir,
            state.pod_ip,
            self.host_ip,
            self.sources.get(state.pod["metadata"]["uid"]),
        )
        if problem:
            self._wait(state, slot, "CreateContainerConfigError", problem, True)
            return
        self._start(state, slot, config)

    def _start(self, state: PodState, slot: slots.Slot, config: Any) -> None:
        request = pb.CreateContainerRequest(
            pod_sandbox_id=state.sandbox_id, config=config, sandbox_config=state.sandbox_config
        )
        try:
            slot.container_id = self.cri.call("CreateContainer", request).container_id
        except CriError as err:
            self._wait(state, slot, "CreateContainerError", err.message, True)
            return
        self._event(state, slot.name, "Normal", "Created", f"Created container {slot.name}")
        try:
            self.cri.call("StartContainer", pb.StartContainerRequest(container_id=slot.container_id))
        except CriError as err:
            self._event(state, slot.name, "Warning", "Failed", f"Error: {err.message}")
            return  # observed as exited on the next sync, restarted by policy
        slot.waiting, slot.running_since = None, now()
        slot.reported.clear()
        self._event(state, slot.name, "Normal", "Started", f"Started container {slot.name}")

    def _wait(self, state: PodState, slot: slots.Slot, reason: str, message: str, failed: bool) -> None:
        """The container cannot run yet: show why, retry later with back-off when it failed."""
        if failed:
            slot.next_backoff(time.monotonic(), self.runtime.backoff_base)
            if reason == "ErrImagePull" and ("Failed", f"Error: {message}") in slot.reported:
                reason = "ImagePullBackOff"
            self._event(state, slot.name, "Warning", "Failed", f"Error: {message}")
        slot.waiting = (reason, message)

    def _event(self, state: PodState, container: str, kind: str, reason: str, message: str) -> None:
        slot = next((s for s in state.slots if s.name == container), None)
        if slot is not None:
            if (reason, message) in slot.reported:
                return
            slot.reported.add((reason, message))
        meta = state.pod["metadata"]
        self.events.append(
            NodeEvent(
                meta["uid"], meta.get("namespace", "default"), meta["name"], container, kind, reason, message
            )
        )

    def _probe(self, state: PodState, slot: slots.Slot) -> None:
        def report(kind: str, reason: str, message: str) -> None:
            self._event(state, slot.name, kind, reason, message)

        grace = float(state.pod["spec"].get("terminationGracePeriodSeconds", 30))
        self.prober.sync(slot, state.pod_ip, grace, report, self._stop_container)

    # -- stopping ---------------------------------------------------------------------------------

    def _remove_container(self, cid: str) -> None:
        self._try("RemoveContainer", pb.RemoveContainerRequest(container_id=cid), f"id={cid[:12]}")

    def _teardown(self, state: PodState, grace: float) -> None:
        live = [s.container_id for s in state.slots if s.container_id]
        with concurrent.futures.ThreadPoolExecutor(max(1, len(live))) as pool:
            list(pool.map(lambda cid: self._stop_container(cid, grace), live))
        if state.sandbox_id:
            pod = f"pod={state.pod['metadata']['name']}"
            self._try("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=state.sandbox_id), pod)
            self._try("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=state.sandbox_id), pod)
        podcgroups.remove_pod(criconfigs.cgroup_parent(state.pod))
        state.volumes.close()
        shutil.rmtree(state.log_dir.parent, ignore_errors=True)
        log.info("Stopped pod %s/%s", state.pod["metadata"].get("namespace"), state.pod["metadata"]["name"])

    def _stop_container(self, cid: str, grace: float) -> None:
        request = pb.StopContainerRequest(container_id=cid, timeout=int(grace))
        self._try("StopContainer", request, f"id={cid[:12]}")

    def _try(self, method: str, request: Any, what: str) -> None:
        """One stopping call; a failure is logged, not raised (the pod is being removed anyway).

        While the node shuts down each call gets ``SHUTDOWN_CALL_TIMEOUT``, and after the first
        that containerd lets time out the rest are skipped, so an unresponsive containerd delays the
        cluster's stop by seconds, not by a minute per call.
        """
        if self._unanswered.is_set():
            return
        timeout = SHUTDOWN_CALL_TIMEOUT if self._shutting_down else None
        try:
            self.cri.call(method, request, timeout)
        except CriError as err:
            if timeout is None or err.code != "DEADLINE_EXCEEDED":
                log.warning("%s failed %s error=%s", method, what, err.message)
            elif not self._unanswered.is_set():
                self._unanswered.set()
                log.error(
                    "containerd did not answer %s %s in %.0fs; the remaining pods are left to its stop "
                    "(its goroutines are dumped to %s)",
                    method,
                    what,
                    timeout,
                    self.runtime.report_hang(),
                )


def _pod_ref(pod: dict[str, Any]) -> str:
    meta = pod["metadata"]
    return f"{meta['name']}_{meta.get('namespace', 'default')}({meta['uid']})"
