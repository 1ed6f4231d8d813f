"""kube-proxy and cluster DNS for a cluster whose nodes run on containerd.

Every second (and at once on start) ``ServiceNetworking`` reads Services and pods from the store,
computes the ClusterIP rules (``runtime.services``) and applies them when they changed; its DNS
server answers Service names from the same store. Nodes without a pod network (status-only,
process nodes) get neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from localcluster.apiserver import ApiServer
from localcluster.runtime import dns, services
from localcluster.runtime.networks import Network

log = logging.getLogger(__name__)


class ServiceNetworking:
    def __init__(self, api: ApiServer, network: Network, interval: float = 1.0) -> None:
        self.api = api
        self.network = network
        self.interval = interval
        self.proxy = services.ServiceProxy(network.bridge.removeprefix("lc"), network.subnet)
        self._dns: asyncio.DatagramTransport | None = None

    def cluster_ip(self, namespace: str, name: str) -> str | None:
        svc = self.api.store.find(self.api.res("", "services"), namespace, name)
        ip = (svc or {}).get("spec", {}).get("clusterIP")
        return str(ip) if ip and ip != "None" else None

    def rules(self) -> list[services.ServiceRule]:
        store = self.api.store
        svcs = store.list(self.api.res("", "services"), None, [], [])
        pods = store.list(self.api.res("", "pods"), None, [], [])
        endpoints = store.list(self.api.res("", "endpoints"), None, [], [])
        return services.service_rules(svcs, pods, endpoints)

    async def run(self) -> None:
        await asyncio.to_thread(self.proxy.start)
        try:
            self._dns = await dns.serve(self.network.gateway, self.cluster_ip)
        except OSError as err:
            log.warning("Cluster DNS did not start address=%s error=%s", self.network.gateway, err)
        try:
            while True:
                await asyncio.to_thread(self.proxy.sync, self.rules())
                await asyncio.sleep(self.interval)
        finally:
            if self._dns is not None:
                self._dns.close()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.proxy.close)
