"""The webhook's ``PolicySource`` fed by watches of VarmorPolicies and VarmorClusterPolicies.

Each serving process (gunicorn worker) starts its own informers the first time it is asked, so a
forked worker never shares a connection with its parent; the first admission waits for the initial
list (bounded), later ones read the cache, which a watch event updates within milliseconds.
"""

from __future__ import annotations

import os
import pathlib
import threading
from typing import Any

from kubernetes import client

from api.names import GROUP, VARMOR_CLUSTER_POLICIES, VARMOR_POLICIES, VERSION
from controller.informers import Informer
from controller.kube import api_client


class ClusterPolicySource:
    def __init__(self, kubeconfig: pathlib.Path | None, sync_timeout: float = 5.0) -> None:
        self.kubeconfig = kubeconfig
        self.sync_timeout = sync_timeout
        self._pid = 0
        self._informers: list[Informer] = []
        self._lock = threading.Lock()

    def _start(self) -> list[Informer]:
        custom: Any = client.CustomObjectsApi(api_client(self.kubeconfig))
        def lister(plural: str) -> Any:
            return lambda **kw: custom.list_cluster_custom_object(GROUP, VERSION, plural, **kw)
        informers = [Informer(plural, lister(plural), lambda _e, _o: None)
                     for plural in (VARMOR_POLICIES, VARMOR_CLUSTER_POLICIES)]
        for informer in informers:
            informer.start()
        for informer in informers:
            informer.synced.wait(self.sync_timeout)
        return informers

    def policies(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._pid != os.getpid():
                self._informers, self._pid = self._start(), os.getpid()
            informers = self._informers
        return [obj for informer in informers for obj in list(informer.cache.values())]
