"""The scheduler and one kubelet per node.

The scheduler binds unbound pods round robin over the nodes (DaemonSet pods come pinned) and records
a ``Scheduled`` Event. Each kubelet watches the pods bound to its node through the store (as a real
kubelet watches the API), starts them on its node's runtime, writes their status, syncs them every
second (restarts, retries, image pulls happen in the node's ``pod_status``; before each, the node gets
the ConfigMaps, Secrets, tokens and Service env the pod reads, ``podsources``), records the Events the
node reports, and finishes graceful deletions: it stops the pod, then removes the object.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from localcluster import events
from localcluster.apiserver import ApiServer
from localcluster.controllers import podsources
from localcluster.errors import ApiError
from localcluster.nodes import NodePort
from localcluster.storage import Obj, Watcher

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, api: ApiServer, nodes: list[str]) -> None:
        self.api = api
        self._next = itertools.cycle(nodes)

    async def schedule(self, ns: str, name: str) -> None:
        pod = self.api.store.find(self.api.res("", "pods"), ns, name)
        if pod is None or pod.get("spec", {}).get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return
        node = next(self._next)
        bound = {**pod, "spec": {**pod.get("spec", {}), "nodeName": node}}
        await self.api.update(self.api.res("", "pods"), ns, name, bound, admit=False)
        message = f"Successfully assigned {ns}/{name} to {node}"
        involved = {"kind": "Pod", "apiVersion": "v1", "metadata": bound["metadata"]}
        await events.Recorder(self.api, "default-scheduler").record(involved, "Normal", "Scheduled", message)


class Kubelet:
    """Drives one ``NodePort`` from the pods bound to ``node``."""

    def __init__(self, api: ApiServer, node: str, simulator: NodePort, refresh: float = 1.0) -> None:
        self.api = api
        self.node = node
        self.simulator = simulator
        self.refresh = refresh
        self.started: dict[str, tuple[str, str]] = {}  # uid -> (namespace, name)

    async def run(self) -> None:
        res = self.api.res("", "pods")
        watcher = Watcher(res.key, None, [], [("spec.nodeName", True, self.node)])
        for obj in self.api.store.list(res, None, [], watcher.fields):
            watcher.queue.put_nowait(("ADDED", obj))
        self.api.store.watchers[res.key].append(watcher)
        loop = asyncio.get_running_loop()
        due = loop.time() + self.refresh
        try:
            while True:  # a sync every ``refresh`` seconds, however busy the watch is
                try:
                    etype, pod = await asyncio.wait_for(watcher.queue.get(), max(0.0, due - loop.time()))
                except TimeoutError:
                    await self._refresh_all()
                    due = loop.time() + self.refresh
                    continue
                await self._handle(etype, pod)
        finally:
            self.api.store.watchers[res.key].remove(watcher)

    async def _handle(self, etype: str, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        try:
            if etype == "DELETED":
                await self._stop(uid, 0.0)
            elif pod["metadata"].get("deletionTimestamp"):
                await self._stop(uid, float(pod["metadata"].get("deletionGracePeriodSeconds") or 2))
                await self.api.delete(
                    self.api.res("", "pods"), pod["metadata"]["namespace"], pod["metadata"]["name"], grace=0
                )
            elif uid not in self.started:
                self.started[uid] = (pod["metadata"]["namespace"], pod["metadata"]["name"])
                self._update_sources(pod)
                status = await asyncio.to_thread(self.simulator.start_pod, pod)
                await self._write_status(uid, status)
                await self._record_events()
        except ApiError as e:
            log.warning(
                "Kubelet failed node=%s pod=%s error=%s", self.node, pod["metadata"]["name"], e.message
            )
        except Exception:
            log.exception("Kubelet crashed node=%s pod=%s", self.node, pod["metadata"]["name"])

    async def _stop(self, uid: str, grace: float) -> None:
        if self.started.pop(uid, None) is not None:
            await asyncio.to_thread(self.simulator.stop_pod, uid, min(grace, 2.0))

    async def _write_status(self, uid: str, status: dict[str, Any] | None) -> None:
        where = self.started.get(uid)
        if where is None or status is None:
            return
        pod = self.api.store.find(self.api.res("", "pods"), *where)
        if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
            return
        if pod.get("status") != status:
            await self.api.update(
                self.api.res("", "pods"),
                where[0],
                where[1],
                {**pod, "status": status},
                sub="status",
                admit=False,
            )

    def _update_sources(self, pod: Obj) -> None:
        """Give the node what the pod's volumes and env read from the API now."""
        update = getattr(self.simulator, "update_sources", None)
        if update is not None and self.api.authority is not None:
            update(pod["metadata"]["uid"], podsources.read(self.api, self.api.authority, pod))

    async def _refresh_all(self) -> None:
        for uid in list(self.started):
            pod = self.api.store.find(self.api.res("", "pods"), *self.started[uid])
            if pod is not None and pod["metadata"]["uid"] == uid:
                self._update_sources(pod)
            try:
                await self._write_status(uid, await asyncio.to_thread(self.simulator.pod_status, uid))
            except ApiError as e:
                log.warning("Kubelet status update failed node=%s uid=%s error=%s", self.node, uid, e.message)
        await self._record_events()

    async def _record_events(self) -> None:
        """Post the Events the node reported (nodes without events have no ``drain_events``)."""
        drain = getattr(self.simulator, "drain_events", None)
        for e in drain() if drain is not None else []:
            involved = {
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {"namespace": e.namespace, "name": e.pod, "uid": e.uid},
            }
            field_path = f"spec.containers{{{e.container}}}" if e.container else ""
            await events.Recorder(self.api, "kubelet", self.node).record(
                involved, e.type, e.reason, e.message, field_path
            )

    async def shutdown(self) -> None:
        await asyncio.to_thread(self.simulator.shutdown)
        self.started.clear()
