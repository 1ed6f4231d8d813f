"""AdmissionReview v1 on the wire: the request we accept, the response we send, and ``ReviewError``.

Two error channels (CONVENTIONS §3): a malformed review raises ``ReviewError`` and becomes HTTP 400
(``BodyTooLarge``: 413); a policy verdict is a normal response with ``allowed: false`` and a message.
Size, content type, nesting depth and required fields are checked before anything else: JSON nested
deeper than ``MAX_DEPTH`` is refused here, so no handler below ever recurses out of stack.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal, NotRequired, TypedDict, cast

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"
MAX_DEPTH = 128  # real objects nest ~15 levels; recursive handlers stay far from Python's limit


class ReviewError(ValueError):
    """The body is not a usable AdmissionReview v1; answered with ``status`` and this message."""

    status = 400


class BodyTooLarge(ReviewError):
    """The body is over the configured limit: HTTP 413."""

    status = 413


class GroupVersionKind(TypedDict):
    group: str
    version: str
    kind: str


class AdmissionRequest(TypedDict):
    uid: str
    kind: GroupVersionKind
    operation: str
    namespace: NotRequired[str]
    name: NotRequired[str]
    object: NotRequired[dict[str, Any] | None]
    oldObject: NotRequired[dict[str, Any] | None]
    dryRun: NotRequired[bool]


class Status(TypedDict, total=False):
    status: Literal["Success", "Failure"]
    message: str


class AdmissionResponse(TypedDict):
    uid: str
    allowed: bool
    status: Status
    patchType: NotRequired[Literal["JSONPatch"]]
    patch: NotRequired[str]


class AdmissionReview(TypedDict):
    apiVersion: str
    kind: str
    response: AdmissionResponse


def check_transport(content_type: str | None, length: int | None, limit: int) -> None:
    """Reject a wrong content type or a body over ``limit`` bytes before reading it."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ReviewError(f"Content-Type must be application/json, not {content_type or 'missing'!r}.")
    if length is not None and length > limit:
        raise BodyTooLarge(f"The body of {length} bytes exceeds the limit of {limit} bytes.")


def depth_problem(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """Where ``value`` nests deeper than ``limit`` containers, or None (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return f"The body nests deeper than {limit} levels."
                stack.append((child, depth + 1))
    return None


def _require(mapping: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = mapping.get(key)
    if not isinstance(value, kind):
        raise ReviewError(f"{where}.{key} is missing or not a {kind.__name__}.")
    return value


def _optional_object(request: dict[str, Any], key: str) -> None:
    if request.get(key) is not None and not isinstance(request[key], dict):
        raise ReviewError(f"request.{key} must be an object.")


def parse_review(body: bytes) -> AdmissionRequest:
    """The request of an AdmissionReview v1 body; raises ``ReviewError`` when it is malformed."""
    try:
        review = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise ReviewError(f"The body is not valid JSON: {err}.") from None
    problem = depth_problem(review)
    if problem:
        raise ReviewError(problem)
    if not isinstance(review, dict):
        raise ReviewError("The body must be a JSON object (an AdmissionReview).")
    if review.get("apiVersion") != API_VERSION or review.get("kind") != KIND:
        raise ReviewError(f"Expected apiVersion {API_VERSION} and kind {KIND}.")
    request = _require(review, "request", dict, "review")
    _require(request, "uid", str, "request")
    _require(request, "operation", str, "request")
    kind = _require(request, "kind", dict, "request")
    for field in ("group", "version", "kind"):
        _require(kind, field, str, "request.kind")
    for field in ("namespace", "name"):
        if request.get(field) is not None and not isinstance(request[field], str):
            raise ReviewError(f"request.{field} must be a string.")
    _optional_object(request, "object")
    _optional_object(request, "oldObject")
    return cast(AdmissionRequest, request)


def allow(uid: str, patch: list[dict[str, Any]] | None = None) -> AdmissionResponse:
    """An allowing response, carrying a base64 JSONPatch when ``patch`` has operations."""
    response: AdmissionResponse = {"uid": uid, "allowed": True, "status": {"status": "Success"}}
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(patch).encode()).decode("ascii")
    return response


def deny(uid: str, message: str) -> AdmissionResponse:
    """A policy verdict: not allowed, with the reason shown to the user."""
    return {"uid": uid, "allowed": False, "status": {"status": "Failure", "message": message}}


def review_of(response: AdmissionResponse) -> AdmissionReview:
    return {"apiVersion": API_VERSION, "kind": KIND, "response": response}
