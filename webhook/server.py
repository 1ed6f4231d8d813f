"""The Flask app factory: ``POST /mutate``, ``POST /validate``, ``GET /healthz`` and ``/readyz``.

Views only move bytes: check transport, parse, call the pure handler, serialise. A malformed review
is answered 400 with a JSON message (``ReviewError``; 413 when the body is over the limit); verdicts
are 200 AdmissionReviews. Served by ``webhook.serving`` (gunicorn, TLS).
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable

from flask import Flask, Response, request

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


def _admit(limit: int, decide: Decide) -> Response:
    review = parse_review(_body(limit))
    return _json(wrap(decide(review)))


def create_app(settings: WebhookSettings, policy_source: PolicySource, clock: Clock = _utcnow) -> Flask:
    """The webhook WSGI app for ``settings``, reading policies from ``policy_source`` per request."""
    app = Flask("varmor-webhook")
    mutation, validation = settings.mutation_options(), settings.validation_options()
    limit = settings.max_body_bytes

    @app.post("/mutate")
    def mutate() -> Response:
        return _admit(limit, lambda rev: mutate_request(rev, policy_source.policies(), mutation, clock()))

    @app.post("/validate")
    def validate() -> Response:
        return _admit(limit, lambda review: validate_request(review, validation))

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
