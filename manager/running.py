"""The manager's life: webhook child always; controllers, status service and leader label while leading.

The status child is started at once on every replica but binds its port only when this replica
leads, so a takeover does not wait for imports.

Every replica keeps its certificates renewed (``renewing``); the leader also keeps the webhook
configurations' ``caBundle`` in sync.

Losing the Lease ends the process (exit 1) after stopping the leader's work, as upstream does; a new
process starts as a follower. A webhook child that dies is restarted.
"""

from __future__ import annotations

import gc
import logging
import threading
from multiprocessing.process import BaseProcess

from kubernetes import client

from controller.running import Controllers
from manager import leading, processes, registering, renewing, wiring
from manager.settings import ManagerSettings

log = logging.getLogger(__name__)


class Manager:
    def __init__(self, settings: ManagerSettings, api: client.ApiClient, level: str) -> None:
        self.settings = settings
        self.api = api
        self.level = level
        self.children: dict[str, BaseProcess] = {}
        self.controllers: Controllers | None = None
        self.lost = threading.Event()
        self.serve_status = processes.SPAWN.Event()

    def _lead(self) -> None:
        settings = self.settings
        log.info("Started leading identity=%s", settings.identity)
        if settings.pod_name:
            leading.label_leader(self.api, settings.install_namespace, settings.pod_name)
        registering.register(self.api, settings)
        self.controllers = Controllers(wiring.reconciler(settings)).start()
        gc.freeze()  # modules and clients live as long as the process: collections need not walk them
        self.serve_status.set()
        threading.Thread(target=self._resync, name="resync", daemon=True).start()

    def _resync(self) -> None:
        """Every ``--statusUpdateCycle``, look at every policy again (upstream's periodic status pass)."""
        while not self.lost.wait(self.settings.status_update_cycle):
            if self.controllers is not None:
                self.controllers.resync()

    def _leading(self) -> bool:
        return self.serve_status.is_set() and not self.lost.is_set()

    def _lose(self) -> None:
        log.warning("Lost the Lease identity=%s; stopping", self.settings.identity)
        self.lost.set()

    def run(self, stopped: threading.Event) -> int:
        settings = self.settings
        certificates = renewing.renewer(settings, self.api, self._leading)
        certificates.start()
        self.children["webhook"] = processes.start("webhook", settings, self.level)
        self.children["status"] = processes.start("status", settings, self.level, self.serve_status)
        log.info("Joined the election lease=%s/varmor-manager identity=%s", settings.install_namespace,
                 settings.identity)
        leading.elect(self.api, settings.install_namespace, settings.identity,
                      (settings.lease_duration, settings.renew_deadline, settings.retry_period),
                      self._lead, self._lose)
        while not stopped.wait(0.5) and not self.lost.is_set():
            webhook = self.children["webhook"]
            if not webhook.is_alive():
                log.warning("The webhook server exited code=%s; restarting it", webhook.exitcode)
                self.children["webhook"] = processes.start("webhook", settings, self.level)
        certificates.stop()
        if self.controllers is not None:
            self.controllers.stop()
        for child in self.children.values():
            processes.stop(child)
        return 1 if self.lost.is_set() else 0
