"""Assembles the local cluster: storage, API server, HTTP site, controllers, scheduler, kubelets.

``Cluster`` runs on one asyncio loop (``serve_forever`` for the CLI, ``ClusterThread`` for tests).
It seeds the namespaces ``default``/``kube-system``/``kube-public``, one Node per simulated node
(``node-1``…), and the CRDs from the chart (``manifests/varmor/crds/``). Webhook service references
resolve through ``--service-map NS/NAME=HOST:PORT`` or the Service's
``localcluster.varmor.org/endpoint`` annotation.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import pathlib
import platform
import shutil
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

import yaml
from aiohttp import web

from localcluster import admission, tokens
from localcluster.apiserver import ApiServer, now_iso
from localcluster.controllers.accounts import NamespaceDefaults
from localcluster.controllers.collection import GarbageCollector
from localcluster.controllers.jobs import Jobs
from localcluster.controllers.kubelet import Kubelet, Scheduler
from localcluster.controllers.manager import ControllerManager
from localcluster.controllers.serviceproxy import ServiceNetworking
from localcluster.controllers.workloads import Workloads
from localcluster.handlers import Handlers
from localcluster.nodes import NodeFactory, StatusOnlyNode
from localcluster.resources import Registry
from localcluster.storage import MAX_OBJECT_BYTES, Store
from localcluster.streaming import Streaming

log = logging.getLogger(__name__)
CRDS = pathlib.Path(__file__).resolve().parent.parent / "manifests" / "varmor" / "crds" / "crds.yaml"


@dataclass(frozen=True)
class Settings:
    state_dir: pathlib.Path
    host: str = "127.0.0.1"
    port: int = 0
    nodes: int = 1
    crds: tuple[pathlib.Path, ...] = (CRDS,)
    service_map: dict[str, str] = field(default_factory=dict)
    history: int = 10000
    bookmark_interval: float = 1.0
    max_object_bytes: int = MAX_OBJECT_BYTES
    node_factory: NodeFactory = StatusOnlyNode

    @property
    def node_names(self) -> list[str]:
        return [f"node-{i}" for i in range(1, self.nodes + 1)]


def machine_capacity() -> dict[str, str]:
    """What a node reports as capacity: this machine's CPUs and memory (``describe node`` percentages)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{memory // 1024}Ki",
        "pods": "110",
        "ephemeral-storage": f"{shutil.disk_usage('/').total // 1024}Ki",
    }


def node_lease(name: str) -> dict[str, object]:
    """The node's heartbeat Lease in ``kube-node-lease``, as a kubelet keeps it."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "acquireTime": now, "renewTime": now}
    return {"metadata": {"name": name}, "spec": spec}


def node_object(name: str) -> dict[str, object]:
    info = {
        "kubeletVersion": "v1.32.0-localcluster",
        "kubeProxyVersion": "v1.32.0-localcluster",
        "containerRuntimeVersion": "containerd://1.7.0",
        "operatingSystem": "linux",
        "architecture": "amd64",
        "kernelVersion": platform.release(),
        "osImage": "localcluster",
        "bootID": name,
        "machineID": name,
        "systemUUID": name,
    }
    now = now_iso()
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "KubeletReady",
        "message": "kubelet is posting ready status",
        "lastHeartbeatTime": now,
        "lastTransitionTime": now,
    }
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
        "status": {
            "capacity": machine_capacity(),
            "allocatable": machine_capacity(),
            "conditions": [ready],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "nodeInfo": info,
        },
    }


KUBERNETES_IP = "10.96.0.1"
IP_FREEBIND = 15


def kubernetes_service(port: int) -> dict[str, object]:
    """The ``default/kubernetes`` Service that points at the API server."""
    port_spec = {"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}
    return {
        "metadata": {
            "name": "kubernetes",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": KUBERNETES_IP,
            "clusterIPs": [KUBERNETES_IP],
            "ports": [port_spec],
            "sessionAffinity": "None",
        },
    }


def svc_ip(svc: dict[str, Any] | None) -> str | None:
    return ((svc or {}).get("spec") or {}).get("clusterIP")


class Cluster:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.history, settings.max_object_bytes)
        self.authority = tokens.Authority(settings.state_dir / "pki")
        self.webhooks = admission.WebhookClient(self._resolve_service)
        self.api = ApiServer(self.store, Registry(), self.webhooks)
        self.api.graceful_pods = True
        self.api.authority = self.authority
        self.manager = ControllerManager(self.store)
        self.kubelets: list[Kubelet] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.networking: ServiceNetworking | None = None

    def _resolve_service(self, namespace: str, name: str) -> str | None:
        mapped = self.settings.service_map.get(f"{namespace}/{name}")
        if mapped:
            return mapped
        svc = self.store.find(self.api.res("", "services"), namespace, name)
        annotations = (svc or {}).get("metadata", {}).get("annotations") or {}
        endpoint = annotations.get(admission.ENDPOINT_ANNOTATION)
        if endpoint is None and self.networking is not None:  # a pod behind the Service
            backends = [b for r in self.networking.rules() if r.cluster_ip == svc_ip(svc) for b in r.backends]
            endpoint = f"{backends[0][0]}:{backends[0][1]}" if backends else None
        return endpoint

    def _wire_controllers(self) -> None:
        workloads = Workloads(self.api, self.settings.node_names)
        gc = GarbageCollector(self.api)
        scheduler = Scheduler(self.api, self.settings.node_names)
        self.manager.reconcilers.update(
            {
                "Deployment": workloads.deployment,
                "ReplicaSet": workloads.replicaset,
                "StatefulSet": workloads.statefulset,
                "DaemonSet": workloads.daemonset,
                "gc": gc.owner_deleted,
                "Namespace": gc.namespace_deleted,
                "Schedule": scheduler.schedule,
                "NamespaceDefaults": NamespaceDefaults(self.api, self.authority.ca_pem).reconcile,
                "Job": Jobs(self.api).reconcile,
                "ReplicationController": workloads.replicationcontroller,
            }
        )

    async def _seed(self) -> None:
        namespaces, nodes = self.api.res("", "namespaces"), self.api.res("", "nodes")
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            await self.api.create(namespaces, None, {"metadata": {"name": ns}}, admit=False)
        leases = self.api.res("coordination.k8s.io", "leases")
        for name in self.settings.node_names:
            await self.api.create(nodes, None, node_object(name), admit=False)
            await self.api.create(leases, "kube-node-lease", node_lease(name), admit=False)
        crd_res = self.api.res("apiextensions.k8s.io", "customresourcedefinitions")
        for path in self.settings.crds:
            for doc in yaml.safe_load_all(path.read_text()):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    await self.api.create(crd_res, None, doc, admit=False)

    async def start(self) -> str:
        """Serve the API and start the controllers; returns the server URL."""
        self._wire_controllers()
        await self._seed()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        handlers = Handlers(self.api, self.authority, self.settings.bookmark_interval)
        streaming = Streaming(self.api, lambda: {k.node: k.simulator for k in self.kubelets})
        app.router.add_routes(streaming.routes())
        app.router.add_route("*", "/{tail:.*}", handlers.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        await self.api.create(self.api.res("", "services"), "default", kubernetes_service(port), admit=False)
        state = self.settings.state_dir
        for name in self.settings.node_names:
            sim = self.settings.node_factory(name, state / "nodes" / name, state / "seccomp")
            self.kubelets.append(Kubelet(self.api, name, sim))
        self._tasks = [asyncio.create_task(self.manager.run())]
        self._tasks += [asyncio.create_task(k.run()) for k in self.kubelets]
        network = getattr(self.settings.node_factory, "network", None)
        if network is not None:  # containerd nodes: HTTPS for pods, kube-proxy and cluster DNS
            await self._serve_pods(network.gateway)
            self.networking = ServiceNetworking(self.api, network)
            self._tasks.append(asyncio.create_task(self.networking.run()))
        log.info("Started local cluster url=%s nodes=%d", self.url, self.settings.nodes)
        return self.url

    async def _serve_pods(self, address: str) -> None:
        """HTTPS on the pod network's gateway, behind the ``kubernetes`` Service's Endpoints.

        In-cluster clients verify it with the ``ca.crt`` of their ServiceAccount volume."""
        assert self._runner is not None
        names = [
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ]
        cert, key = self.authority.serving_pair([*names, "localhost"], [KUBERNETES_IP, address, "127.0.0.1"])
        pki = self.settings.state_dir / "pki"
        (pki / "apiserver.crt").write_text(cert)
        fd = os.open(pki / "apiserver.key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pki / "apiserver.crt", pki / "apiserver.key")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)  # the bridge gets its address with the first pod
        sock.bind((address, 0))
        await web.SockSite(self._runner, sock, ssl_context=context).start()
        port = sock.getsockname()[1]
        endpoints = {
            "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [
                {
                    "addresses": [{"ip": address}],
                    "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
                }
            ],
        }
        await self.api.create(self.api.res("", "endpoints"), "default", endpoints, admit=False)
        log.info("Serving pods address=%s:%d", address, port)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(kubelet.shutdown() for kubelet in self.kubelets))
        close = getattr(self.settings.node_factory, "close", None)
        if close is not None:
            await asyncio.to_thread(close)
        await self.webhooks.close()
        if self._runner is not None:
            await self._runner.cleanup()
        log.info("Stopped local cluster url=%s", self.url)


class ClusterThread:
    """Runs a ``Cluster`` on its own event loop in a daemon thread (tests, embedding)."""

    def __init__(self, settings: Settings) -> None:
        self.cluster = Cluster(settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="localcluster", daemon=True)

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.cluster.start(), self._loop).result(timeout)

    def stop(self, timeout: float = 60.0) -> None:
        asyncio.run_coroutine_threadsafe(self.cluster.stop(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop.close()
