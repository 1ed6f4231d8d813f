"""The status service's Flask app: agents report here, users export and import models.

``POST /apis/v1/status`` (a node loaded a profile) and ``POST /apis/v1/data`` (a node's recording)
need a ServiceAccount token of audience ``varmor-manager`` in the ``Token`` header (upstream) or as
``Authorization: Bearer``; ``GET|POST /apis/crd.varmor.org/v1beta1/namespaces/<ns>/armorprofilemodels/
<name>`` export and import a model (Bearer; the token's subject must be allowed to ``get``, resp.
``create``, that ``armorprofilemodels`` object, checked with a SubjectAccessReview as upstream does).
Missing or bad token → 401, not allowed → 403, body over the limit → 413, malformed → 400, unknown
profile → 404; a report is answered 200 only once it is stored. An API failure is 503 (the agent
retries), never a stack trace. ``GET /healthz`` answers ``ok``.
"""

from __future__ import annotations

import json
import logging
import pathlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, Response, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from werkzeug.exceptions import HTTPException

from controller.reports import BadReport, Report, parse_data, parse_status, parse_violations
from controller.tokenreviews import Identity
from serving.metrics import metrics_response, scrape_registry

log = logging.getLogger(__name__)


class Authenticator(Protocol):
    def authenticate(self, token: str) -> Identity | None: ...


class Authorizer(Protocol):
    def allowed(self, identity: Identity, verb: str, namespace: str, name: str) -> bool: ...


class Ingest(Protocol):
    def record_status(self, report: Report) -> None: ...

    def record_data(self, report: Report) -> None: ...

    def record_violations(self, report: Report) -> None: ...


class Models(Protocol):
    def export(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def import_model(self, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StatusSettings:
    max_body_bytes: int = 8 * 1024 * 1024
    metrics_dir: pathlib.Path | None = None  # prometheus_client's multiprocess directory, if any


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


PhaseCounts = Callable[[], Mapping[str, int]]


class _Phases:
    """``varmor_policies{phase}``, read from the cluster at scrape time (nothing cached to go stale)."""

    def __init__(self, counts: PhaseCounts) -> None:
        self.counts = counts

    def collect(self) -> Any:
        family = GaugeMetricFamily("varmor_policies", "Policies by status phase", labels=["phase"])
        try:
            for phase, count in sorted(self.counts().items()):
                family.add_metric([phase or "None"], count)
        except Exception as error:  # the API is down: scrape without this family
            log.warning("Could not count policies error=%r", error)
        yield family


class Metrics:
    def __init__(self, phases: PhaseCounts | None = None,
                 multiprocess_dir: pathlib.Path | None = None) -> None:
        own = CollectorRegistry()
        self.registry = own
        self.reports = Counter("varmor_status_reports_total", "Reports by endpoint and result",
                               ["endpoint", "result"], registry=self.registry)
        self.latency = Histogram("varmor_status_report_seconds", "Time to store a report", ["endpoint"],
                                 registry=self.registry)
        self.scraped = scrape_registry(multiprocess_dir, [own], [_Phases(phases)] if phases else [])


def _json(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status, mimetype="application/json")


def _token() -> str:
    token = request.headers.get("Token", "")
    if not token:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
    return token


DRAIN_LIMIT = 64 * 1024 * 1024


def _refuse_large(limit: int) -> HttpError:
    """413, after reading what the client sends (up to a cap) so that it can read the answer."""
    remaining = min(request.content_length or DRAIN_LIMIT, DRAIN_LIMIT)
    while remaining > 0 and request.stream.read(min(remaining, 1 << 16)):
        remaining -= 1 << 16
    return HttpError(413, f"The body exceeds the limit of {limit} bytes.")


def _body(limit: int) -> Any:
    if request.content_length is not None and request.content_length > limit:
        raise _refuse_large(limit)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise _refuse_large(limit)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise HttpError(400, "The body is not valid JSON.") from None


def create_app(settings: StatusSettings, auth: Authenticator, ingest: Ingest, models: Models,
               classify: Callable[[BaseException], int] = lambda error: 503,
               phases: PhaseCounts | None = None, access: Authorizer | None = None) -> Flask:
    """The WSGI app; ``classify`` maps an adapter error to an HTTP status (404 unknown, else 503)."""
    app = Flask("varmor-status")
    metrics = Metrics(phases, settings.metrics_dir)

    def authorised() -> Identity:
        token = _token()
        identity = auth.authenticate(token) if token else None
        if identity is None:
            raise HttpError(401, "A valid ServiceAccount token of audience varmor-manager is required.")
        return identity

    def permitted(verb: str, namespace: str, name: str) -> None:
        identity = authorised()
        if access is not None and not access.allowed(identity, verb, namespace, name):
            raise HttpError(403, f'User "{identity.user}" cannot {verb} resource "armorprofilemodels" in API '
                                 f'group "crd.varmor.org" in the namespace "{namespace}".')

    def report(endpoint: str, parse: Callable[[Any], Report], store: Callable[[Report], None]) -> Response:
        started = time.perf_counter()
        try:
            authorised()
            parsed = parse(_body(settings.max_body_bytes))
            store(parsed)
        except BadReport as error:
            raise HttpError(400, str(error)) from None
        metrics.reports.labels(endpoint, "accepted").inc()
        metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        return _json({"status": "ok"})

    @app.post("/apis/v1/status")
    def status() -> Response:
        return report("status", parse_status, ingest.record_status)

    @app.post("/apis/v1/data")
    def data() -> Response:
        return report("data", parse_data, ingest.record_data)

    @app.post("/apis/v1/violations")
    def violations() -> Response:
        return report("violations", parse_violations, ingest.record_violations)

    path = "/apis/crd.varmor.org/v1beta1/namespaces/<namespace>/armorprofilemodels/<name>"

    @app.get(path)
    def export(namespace: str, name: str) -> Response:
        permitted("get", namespace, name)
        found = models.export(namespace, name)
        if found is None:
            raise HttpError(404, f"ArmorProfileModel {namespace}/{name} not found.")
        return _json(found)

    @app.post(path)
    def import_(namespace: str, name: str) -> Response:
        permitted("create", namespace, name)
        body = _body(settings.max_body_bytes)
        if not isinstance(body, dict):
            raise HttpError(400, "The body must be an ArmorProfileModel object.")
        try:
            return _json(models.import_model(namespace, name, body))
        except (BadReport, ValueError) as error:
            raise HttpError(400, str(error)) from None

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", 200, mimetype="text/plain")

    @app.get("/metrics")
    def metrics_view() -> Response:
        return metrics_response(metrics.scraped)

    @app.errorhandler(HttpError)
    def http_error(error: HttpError) -> Response:
        metrics.reports.labels(request.path.rsplit("/", 1)[-1], str(error.status)).inc()
        return _json({"message": str(error)}, error.status)

    @app.errorhandler(HTTPException)
    def http_exception(error: HTTPException) -> Response:
        return _json({"message": error.description or error.name}, error.code or 400)

    @app.errorhandler(Exception)
    def failure(error: Exception) -> Response:
        code = classify(error)
        log.warning("Failed a status request path=%s status=%d error=%r", request.path, code, error)
        metrics.reports.labels(request.path.rsplit("/", 1)[-1], str(code)).inc()
        return _json({"message": str(error) if code < 500 else "The manager could not store it; retry."},
                     code)

    return app
