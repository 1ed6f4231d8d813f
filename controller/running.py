"""The leader's controllers at run time: informers → one work queue → workers calling ``reconcile``.

Policies enqueue themselves; an ArmorProfile or ArmorProfileModel enqueues the policy its name
belongs to (upstream spec §3.5's profile-name → policy mapping); a model's changes are coalesced
(one look per ``MODEL_COALESCE_SECONDS`` at most), since the status service writes it once per group
of node reports. A reconcile error requeues the key with back-off; a plan's ``requeue_after`` (the
window's end) schedules the next look.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from api.names import (
    ARMOR_PROFILE_MODELS,
    ARMOR_PROFILES,
    GROUP,
    VARMOR_CLUSTER_POLICIES,
    VARMOR_CLUSTER_POLICY,
    VARMOR_POLICIES,
    VARMOR_POLICY,
    VERSION,
)
from api.profilenames import policy_of_profile
from controller.informers import Informer
from controller.plans import PolicyKey
from controller.reconciling import PolicyReconciler
from controller.workqueue import WorkQueue

log = logging.getLogger(__name__)
MODEL_COALESCE_SECONDS = 0.25


class Controllers:
    def __init__(self, reconciler: PolicyReconciler, workers: int = 2,
                 on_result: Callable[[PolicyKey, str], None] | None = None) -> None:
        self.reconciler = reconciler
        self.queue: WorkQueue[PolicyKey] = WorkQueue()
        self.workers = workers
        self.on_result = on_result
        self.informers: list[Informer] = []
        self.install_namespace = reconciler.options.install_namespace

    def _policy_event(self, kind: str) -> Callable[[str, dict[str, Any]], None]:
        def enqueue(_event: str, obj: dict[str, Any]) -> None:
            meta = obj.get("metadata") or {}
            namespace = "" if kind == VARMOR_CLUSTER_POLICY else str(meta.get("namespace") or "")
            self.queue.add((kind, namespace, str(meta.get("name") or "")))
        return enqueue

    def _profile_event(self, _event: str, obj: dict[str, Any]) -> None:
        owner = self._owner(obj)
        if owner is not None:
            self.queue.add(owner)

    def _model_event(self, _event: str, obj: dict[str, Any]) -> None:
        """A model is written once per group of node reports: its policy is looked at once per
        ``MODEL_COALESCE_SECONDS`` during a burst of reports, not once per write."""
        owner = self._owner(obj)
        if owner is not None:
            self.queue.add_within(owner, MODEL_COALESCE_SECONDS)

    def _owner(self, obj: dict[str, Any]) -> PolicyKey | None:
        meta = obj.get("metadata") or {}
        return policy_of_profile(str(meta.get("namespace") or ""), str(meta.get("name") or ""),
                                 self.install_namespace)

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            if key is None:
                return
            try:
                after = self.reconciler.reconcile(key)
            except Exception as error:  # requeued with back-off; the next try starts from the API again
                log.warning("Reconcile failed key=%s error=%r retries=%d", key, error,
                            self.queue.failures(key))
                self.queue.done(key, failed=True)
                continue
            self.queue.done(key)
            if after is not None:
                self.queue.add_after(key, after)

    def start(self) -> Controllers:
        custom: Any = self.reconciler.cluster.custom
        def lister(plural: str) -> Callable[..., Any]:
            return lambda **kw: custom.list_cluster_custom_object(GROUP, VERSION, plural, **kw)
        self.informers = [
            Informer("varmorpolicies", lister(VARMOR_POLICIES), self._policy_event(VARMOR_POLICY)),
            Informer("varmorclusterpolicies", lister(VARMOR_CLUSTER_POLICIES),
                     self._policy_event(VARMOR_CLUSTER_POLICY)),
            Informer("armorprofiles", lister(ARMOR_PROFILES), self._profile_event),
            Informer("armorprofilemodels", lister(ARMOR_PROFILE_MODELS), self._model_event),
        ]
        for informer in self.informers:
            informer.start()
        for number in range(self.workers):
            threading.Thread(target=self._work, name=f"reconcile-{number}", daemon=True).start()
        return self

    def resync(self) -> None:
        """Enqueue every policy and profile the informers know (the periodic pass)."""
        for informer in self.informers:
            for obj in list(informer.cache.values()):
                informer.on_change("RESYNC", obj)

    def stop(self) -> None:
        for informer in self.informers:
            informer.stop()
        self.queue.shutdown()
