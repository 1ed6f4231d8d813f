"""The Flask app factory: ``POST /mutate``, ``POST /validate``, ``GET /healthz``, ``/readyz``, ``/metrics``.

Views only move bytes: check transport, parse, call the pure handler, serialise. A malformed review
is answered 400 with a JSON message (``ReviewError``; 413 when the body is over the limit); verdicts
are 200 AdmissionReviews. Served by ``webhook.serving`` (gunicorn, TLS). ``/metrics`` counts admission
requests by operation and result (``patched``, ``allowed``, ``denied``, ``malformed``) and times them.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Callable

from flask import Flask, Response, request
from prometheus_client import CollectorRegistry, Counter, Histogram

from serving.metrics import metrics_response, scrape_registry
from webhook.mutating import mutate_request
from webhook.policies import PolicySource
from webhook.reviews import (
    AdmissionRequest,
    AdmissionResponse,
    BodyTooLarge,
    ReviewError,
    check_transport,
    parse_review,
)
from webhook.reviews import review_of as wrap
from webhook.settings import WebhookSettings
from webhook.validating import validate_request

log = logging.getLogger(__name__)
Clock = Callable[[], datetime.datetime]
Decide = Callable[[AdmissionRequest], AdmissionResponse]
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _json(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status, mimetype="application/json")


def _body(limit: int) -> bytes:
    check_transport(request.content_type, request.content_length, limit)
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(f"The body exceeds the limit of {limit} bytes.")
    return body


class AdmissionMetrics:
    """Admission requests by operation and result, and their latency (per app; multiprocess-aware)."""

    def __init__(self, settings: WebhookSettings) -> None:
        own = CollectorRegistry()
        self.requests = Counter("varmor_admission_requests_total", "Admission requests by result",
                                ["operation", "result"], registry=own)
        self.latency = Histogram("varmor_admission_request_seconds", "Time to answer an admission request",
                                 ["operation"], registry=own, buckets=LATENCY_BUCKETS)
        self.scraped = scrape_registry(settings.metrics_dir, [own])

    def observe(self, operation: str, result: str, started: float) -> None:
        self.requests.labels(operation, result).inc()
        self.latency.labels(operation).observe(time.perf_counter() - started)


def _result(response: AdmissionResponse) -> str:
    if not response["allowed"]:
        return "denied"
    return "patched" if "patch" in response else "allowed"


def _admit(limit: int, decide: Decide, metrics: AdmissionMetrics, operation: str) -> Response:
    started = time.perf_counter()
    try:
        answer = decide(parse_review(_body(limit)))
    except ReviewError:
        metrics.observe(operation, "malformed", started)
        raise
    metrics.observe(operation, _result(answer), started)
    return _json(wrap(answer))


def create_app(settings: WebhookSettings, policy_source: PolicySource, clock: Clock = _utcnow) -> Flask:
    """The webhook WSGI app for ``settings``, reading policies from ``policy_source`` per request."""
    app = Flask("varmor-webhook")
    mutation, validation = settings.mutation_options(), settings.validation_options()
    limit = settings.max_body_bytes
    metrics = AdmissionMetrics(settings)

    @app.post("/mutate")
    def mutate() -> Response:
        return _admit(limit, lambda rev: mutate_request(rev, policy_source.policies(), mutation, clock()),
                      metrics, "mutate")

    @app.post("/validate")
    def validate() -> Response:
        return _admit(limit, lambda review: validate_request(review, validation), metrics, "validate")

    @app.get("/metrics")
    def metrics_view() -> Response:
        return metrics_response(metrics.scraped)

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> Response:
        return _json({"status": "ok", "policies": len(policy_source.policies())})

    @app.errorhandler(ReviewError)
    def malformed(error: ReviewError) -> Response:
        log.info("Rejected a malformed review path=%s status=%d reason=%r", request.path, error.status,
                 str(error))
        return _json({"message": str(error)}, error.status)

    return app
