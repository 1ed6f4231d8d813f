"""Admission webhooks: which webhooks apply, the AdmissionReview sent, and the answer applied.

Webhooks come from ``MutatingWebhookConfiguration``/``ValidatingWebhookConfiguration`` v1 objects.
A call goes over HTTPS with the chain checked against ``caBundle``. A ``service`` reference is mapped
to a local ``HOST:PORT`` (see ``ServiceResolver``) and the TLS name checked is ``<svc>.<ns>.svc``, so
the certificate's SANs are tested as in a cluster. Matching and patch application are pure; only
``WebhookClient`` does IO.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jsonpatch

from localcluster.errors import ApiError
from localcluster.resources import Resource
from localcluster.selectors import selector_matches

log = logging.getLogger(__name__)
Obj = dict[str, Any]
ServiceResolver = Callable[[str, str], "str | None"]  # (namespace, name) -> "host:port"
ENDPOINT_ANNOTATION = "localcluster.varmor.org/endpoint"


@dataclass(frozen=True)
class Request:
    """What is being admitted."""

    res: Resource
    operation: str
    obj: Obj
    old: Obj | None
    user: str
    namespace_labels: dict[str, str]


def _rule_matches(rule: dict[str, Any], req: Request) -> bool:
    def has(key: str, value: str) -> bool:
        values = rule.get(key, [])
        return "*" in values or value in values

    scope = rule.get("scope", "*")
    return (
        has("operations", req.operation)
        and has("apiGroups", req.res.group)
        and has("apiVersions", req.res.version)
        and has("resources", req.res.plural)
        and (scope == "*" or (scope == "Namespaced") == req.res.namespaced)
    )


def applies(webhook: dict[str, Any], req: Request) -> bool:
    """Rules, namespaceSelector (labels of the Namespace) and objectSelector (old or new labels)."""
    if not any(_rule_matches(rule, req) for rule in webhook.get("rules", [])):
        return False
    if req.res.namespaced and not selector_matches(webhook.get("namespaceSelector"), req.namespace_labels):
        return False
    selector = webhook.get("objectSelector")
    labels = [req.obj["metadata"].get("labels")] + ([req.old["metadata"].get("labels")] if req.old else [])
    return not selector or any(selector_matches(selector, lab) for lab in labels)


def review(req: Request, uid: str) -> Obj:
    gvk = {"group": req.res.group, "version": req.res.version, "kind": req.res.kind}
    gvr = {"group": req.res.group, "version": req.res.version, "resource": req.res.plural}
    options = "CreateOptions" if req.operation == "CREATE" else "UpdateOptions"
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "name": req.obj["metadata"].get("name", ""),
            "namespace": req.obj["metadata"].get("namespace", ""),
            "operation": req.operation,
            "userInfo": {"username": req.user, "groups": ["system:authenticated"]},
            "object": req.obj,
            "oldObject": req.old,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": options},
        },
    }


def apply_response(webhook: dict[str, Any], response: Obj, obj: Obj, mutating: bool) -> Obj:
    """Deny with the webhook's status, or return ``obj`` with the webhook's JSONPatch applied."""
    name = webhook["name"]
    if not response.get("allowed"):
        status = response.get("status") or {}
        raise ApiError(
            status.get("code") or 400,
            status.get("reason") or "BadRequest",
            f'admission webhook "{name}" denied the request: {status.get("message", "")}',
        )
    if not (mutating and response.get("patch")):
        return obj
    if response.get("patchType") != "JSONPatch":
        raise ApiError(
            500, "InternalError", f"webhook {name}: unsupported patchType {response.get('patchType')!r}"
        )
    try:
        ops = json.loads(base64.b64decode(response["patch"]))
        patched: Obj = jsonpatch.apply_patch(obj, ops, in_place=False)
    except (ValueError, binascii.Error, jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
        raise ApiError(
            500, "InternalError", f'Internal error occurred: webhook "{name}" returned a bad patch: {e}'
        ) from e
    return patched


def failed(webhook: dict[str, Any], why: str, obj: Obj) -> Obj:
    """Apply ``failurePolicy``: Ignore admits ``obj`` unchanged, Fail (the default) rejects."""
    if webhook.get("failurePolicy", "Fail") == "Ignore":
        log.warning("Ignored failed webhook call webhook=%s error=%s", webhook["name"], why)
        return obj
    raise ApiError(
        500, "InternalError", f'Internal error occurred: failed calling webhook "{webhook["name"]}": {why}'
    )


class WebhookClient:
    """Calls webhooks over HTTPS; one cached SSL context per caBundle keeps connections pooled."""

    def __init__(self, resolve: ServiceResolver) -> None:
        self._resolve = resolve
        self._ssl: dict[str, ssl.SSLContext] = {}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _context(self, ca_bundle: str) -> ssl.SSLContext:
        if ca_bundle not in self._ssl:
            cadata = base64.b64decode(ca_bundle).decode() if ca_bundle else None
            self._ssl[ca_bundle] = ssl.create_default_context(cadata=cadata)
        return self._ssl[ca_bundle]

    def _target(self, config: dict[str, Any]) -> tuple[str, str | None]:
        if config.get("url"):
            return str(config["url"]), None
        svc = config.get("service") or {}
        hostport = self._resolve(svc.get("namespace", ""), svc.get("name", ""))
        if hostport is None:
            raise LookupError(f'service "{svc.get("namespace")}/{svc.get("name")}" has no local endpoint')
        return f"https://{hostport}{svc.get('path', '/')}", f"{svc['name']}.{svc['namespace']}.svc"

    async def call(self, webhook: dict[str, Any], req: Request, mutating: bool) -> Obj:
        uid = str(uuid.uuid4())
        config = webhook.get("clientConfig", {})
        try:
            url, server_name = self._target(config)
            if self._session is None:
                self._session = aiohttp.ClientSession()
            timeout = aiohttp.ClientTimeout(total=webhook.get("timeoutSeconds", 10))
            async with self._session.post(
                url,
                json=review(req, uid),
                ssl=self._context(config.get("caBundle", "")),
                server_hostname=server_name,
                timeout=timeout,
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}: {(await resp.text())[:200]}")
                answer = (await resp.json(content_type=None))["response"]
            if answer.get("uid") != uid:
                raise RuntimeError(f"expected response.uid={uid!r}, got {answer.get('uid')!r}")
        except Exception as e:  # any failure of the call is a webhook failure, judged by failurePolicy
            return failed(webhook, f"{type(e).__name__}: {e}", req.obj)
        return apply_response(webhook, answer, req.obj, mutating)
