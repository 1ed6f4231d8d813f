"""The validating webhook's verdict: an AdmissionRequest for a policy → allowed or denied.

The rules and their exact upstream messages live in ``api.validation`` (the controller runs the
same rules as a backstop); this module only picks CREATE or UPDATE out of the review.
"""

from __future__ import annotations

from api.names import POLICY_KINDS
from api.validation import ValidationOptions, validate_create, validate_update
from webhook.reviews import AdmissionRequest, AdmissionResponse, ReviewError, allow, deny

__all__ = ["ValidationOptions", "validate_request"]


def validate_request(request: AdmissionRequest, options: ValidationOptions) -> AdmissionResponse:
    """The admission response for a policy CREATE or UPDATE; other kinds and operations are allowed."""
    uid, kind, operation = request["uid"], request["kind"]["kind"], request["operation"]
    if kind not in POLICY_KINDS or operation not in ("CREATE", "UPDATE"):
        return allow(uid)
    new = request.get("object")
    if not isinstance(new, dict):
        raise ReviewError(f"request.object is required to {operation} a {kind}.")
    if operation == "CREATE":
        message = validate_create(new, options)
    else:
        old = request.get("oldObject")
        if not isinstance(old, dict):
            raise ReviewError(f"request.oldObject is required to UPDATE a {kind}.")
        message = validate_update(new, old, options)
    return deny(uid, message) if message else allow(uid)
