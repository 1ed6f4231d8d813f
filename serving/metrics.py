"""Prometheus exposition for servers that run as several processes (gunicorn workers, manager children).

With ``multiprocess_dir`` (prometheus_client's multiprocess mode: every process of the tree writes its
samples there because ``PROMETHEUS_MULTIPROC_DIR`` was set before it imported prometheus_client), a
scrape reads every process's samples from there, so any worker answers for all of them. Without it,
a scrape shows this process's metrics: the default registry plus the app's own registries (``own``).
``live`` collectors (values read from elsewhere at scrape time) are added in both cases.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable
from typing import Any

from flask import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector


class _Collectors:
    def __init__(self, collectors: Iterable[Any]) -> None:
        self.collectors = list(collectors)

    def collect(self) -> Any:
        for collector in self.collectors:
            yield from collector.collect()


def scrape_registry(multiprocess_dir: pathlib.Path | None, own: Iterable[Any] = (),
                    live: Iterable[Any] = ()) -> CollectorRegistry:
    """The registry a ``/metrics`` view exposes."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir is not None:
        MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
    else:
        registry.register(_Collectors([REGISTRY, *own]))
    live = list(live)
    if live:
        registry.register(_Collectors(live))
    return registry


def metrics_response(registry: CollectorRegistry) -> Response:
    return Response(generate_latest(registry), 200, content_type=CONTENT_TYPE_LATEST)
