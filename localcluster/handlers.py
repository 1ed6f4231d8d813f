"""The HTTP layer: routes Kubernetes REST paths to the API server's verbs.

Parses ``/api/v1/...`` and ``/apis/<group>/<version>/...`` paths, serves discovery, lists (with
selectors, paging and Table output), gets, watches and writes, and turns ``ApiError`` into
``Status`` responses. The only module besides ``watching`` that knows aiohttp's request type.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from aiohttp import web

from localcluster import discovery, protobuf, reviews, tables, tokens
from localcluster.apiserver import ADMIN, ApiServer
from localcluster.errors import ApiError, bad_request, no_resource
from localcluster.patches import apply_patch
from localcluster.resources import Resource
from localcluster.selectors import parse_field_selector, parse_label_selector
from localcluster.storage import Obj
from localcluster.watching import serve_watch

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 3 * 1024 * 1024
Route = tuple[str, str, str | None, str, str | None, str | None]


def parse_path(path: str) -> Route | None:
    """(group, version, namespace, plural, name, subresource) of a resource path."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if (
        len(rest) >= 3
        and rest[0] == "namespaces"
        and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return None
    return group, version, namespace, rest[0], rest[1] if len(rest) > 1 else None, "/".join(rest[2:]) or None


def _strip(res: Resource, obj: Obj) -> Obj:
    if not res.builtin:
        return obj
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def _page(items: list[Obj], query: Any, rv: str) -> tuple[list[Obj], dict[str, Any]]:
    meta: dict[str, Any] = {"resourceVersion": rv}
    start = 0
    if query.get("continue"):
        try:
            start, meta["resourceVersion"] = json.loads(base64.b64decode(query["continue"]))
        except (ValueError, binascii.Error, TypeError) as e:
            raise bad_request("invalid continue token") from e
    limit = int(query.get("limit") or 0)
    if limit and start + limit < len(items):
        token = json.dumps([start + limit, meta["resourceVersion"]]).encode()
        meta.update(
            {"continue": base64.b64encode(token).decode(), "remainingItemCount": len(items) - start - limit}
        )
    return (items[start : start + limit] if limit else items[start:]), meta


class Handlers:
    """aiohttp handler bound to one ``ApiServer``."""

    def __init__(self, api: ApiServer, authority: tokens.Authority, bookmark_interval: float = 1.0) -> None:
        self.api = api
        self.authority = authority
        self.bookmark_interval = bookmark_interval

    def _user(self, request: web.Request) -> str:
        """The caller: a ServiceAccount for a valid bearer token of ours, else the admin."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
            return ADMIN
        status = reviews.authenticate(self.api, self.authority, token.strip(), [])
        if not status["authenticated"]:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        return str(status["user"]["username"])

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except ApiError as e:
            # As kube-apiserver writes it (Go's encoder): compact, with a trailing newline.
            text = json.dumps(e.body(), separators=(",", ":")) + "\n"
            return web.Response(text=text, status=e.code, content_type="application/json")

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path.rstrip("/") or "/", request.method
        user = self._user(request)
        if method == "GET":
            doc = discovery.document(path, self.api.registry.all())
            if doc is not None:
                return web.json_response(doc)
        route = parse_path(path)
        if route is None:
            raise no_resource()
        group, version, namespace, plural, name, sub = route
        res = self.api.registry.find(group, version, plural)
        namespace = namespace if res.namespaced else None
        if res.create_only or (res.key == ("", "serviceaccounts") and sub == "token"):
            return await self._review(request, res, namespace, name, user)
        if sub == "scale":
            return await self._scale(request, res, namespace, name or "", user)
        if sub and not (sub == "status" and res.status):
            raise no_resource()
        if method == "GET":
            return await self._read(request, res, namespace, name)
        return await self._write(request, res, namespace, name, sub, user)

    async def _scale(
        self, request: web.Request, res: Resource, namespace: str | None, name: str, user: str
    ) -> web.StreamResponse:
        if request.method == "GET":
            return web.json_response(self.api.scale(res, namespace, name))
        if request.method == "PUT":
            return web.json_response(await self.api.rescale(res, namespace, name, await _json(request), user))
        if request.method == "PATCH":
            ctype = request.headers.get("Content-Type")
            new = apply_patch(self.api.scale(res, namespace, name), ctype, await _body(request), True)
            return web.json_response(await self.api.rescale(res, namespace, name, new, user))
        raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on this path")

    async def _review(
        self, request: web.Request, res: Resource, namespace: str | None, name: str | None, user: str
    ) -> web.StreamResponse:
        if request.method != "POST":
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on this path")
        body = await _json(request)
        if res.create_only:
            answer = reviews.answer(self.api, self.authority, res, body, user, namespace)
            return web.json_response(answer, status=201)
        answer = reviews.token_request(self.api, self.authority, namespace or "", name or "", body)
        return web.json_response(answer, status=201)

    async def _read(
        self, request: web.Request, res: Resource, namespace: str | None, name: str | None
    ) -> web.StreamResponse:
        query = request.query
        if query.get("watch") in ("1", "true"):
            return await serve_watch(request, self.api.store, res, namespace, name, self.bookmark_interval)
        if name is not None:
            obj = self.api.store.get(res, namespace, name)
            if tables.wants_table(request.headers.get("Accept")):
                return web.json_response(
                    tables.table(
                        res,
                        [obj],
                        {"resourceVersion": obj["metadata"]["resourceVersion"]},
                        query.get("includeObject", "Metadata"),
                    )
                )
            return web.json_response(obj)
        items = self.api.store.list(
            res,
            namespace,
            parse_label_selector(query.get("labelSelector")),
            parse_field_selector(query.get("fieldSelector")),
        )
        page, meta = _page(items, query, str(self.api.store.rv))
        if tables.wants_table(request.headers.get("Accept")):
            return web.json_response(tables.table(res, page, meta, query.get("includeObject", "Metadata")))
        return web.json_response(
            {
                "kind": f"{res.kind}List",
                "apiVersion": res.group_version,
                "metadata": meta,
                "items": [_strip(res, o) for o in page],
            }
        )

    async def _delete(
        self, request: web.Request, res: Resource, namespace: str | None, name: str | None
    ) -> web.StreamResponse:
        propagation, grace = _deletion(request, await _body(request))
        if name:
            obj, gone = await self.api.delete(res, namespace, name, propagation, grace)
            return web.json_response(obj, status=200 if gone else 202)
        query = request.query
        selection = (
            parse_label_selector(query.get("labelSelector")),
            parse_field_selector(query.get("fieldSelector")),
        )
        items = await self.api.delete_collection(res, namespace, selection, propagation, grace)
        meta = {"resourceVersion": str(self.api.store.rv)}
        return web.json_response(
            {"kind": f"{res.kind}List", "apiVersion": res.group_version, "metadata": meta, "items": items}
        )

    async def _write(
        self,
        request: web.Request,
        res: Resource,
        namespace: str | None,
        name: str | None,
        sub: str | None,
        user: str,
    ) -> web.StreamResponse:
        method, api = request.method, self.api
        if method == "POST" and name is None:
            return web.json_response(
                await api.create(res, namespace, await _json(request), user=user), status=201
            )
        if method == "PUT" and name:
            updated = await api.update(res, namespace, name, await _json(request), sub=sub, user=user,
                                       fresh=True)
            return web.json_response(updated)
        ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        if method == "PATCH" and name and ctype == "application/apply-patch+yaml" and sub is None:
            manager = request.query.get("fieldManager", "")
            obj, created = await api.apply(res, namespace, name, await _body(request), manager, user)
            return web.json_response(obj, status=201 if created else 200)
        if method == "PATCH" and name:
            patched = await api.patch(
                res, namespace, name, request.headers.get("Content-Type"), await _body(request), sub, user
            )
            return web.json_response(patched)
        if method == "DELETE":
            return await self._delete(request, res, namespace, name)
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on this path")


def _deletion(request: web.Request, raw: bytes) -> tuple[str, int | None]:
    """Propagation policy and grace period from the query or the DeleteOptions body."""
    options = _options(raw)
    propagation = request.query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
    grace = request.query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
    try:
        return str(propagation), None if grace is None else int(grace)
    except ValueError as e:
        raise bad_request(f"invalid gracePeriodSeconds {grace!r}") from e


def _options(raw: bytes) -> dict[str, Any]:
    try:
        options = protobuf.decode(raw) if raw.startswith(protobuf.MAGIC) else json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return options if isinstance(options, dict) else {}


async def _body(request: web.Request) -> bytes:
    """The raw body, refused past kube-apiserver's 3 MiB request limit."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise _too_large()
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    return raw


def _too_large() -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY_BYTES}")


async def _json(request: web.Request) -> Any:
    ctype = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if ctype == protobuf.MEDIA_TYPE:
        return protobuf.decode(await _body(request))
    if ctype not in ("application/json", "application/yaml", ""):
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - "
            f"accepted media types include: application/json, {protobuf.MEDIA_TYPE} (not {ctype})",
        )
    try:
        return json.loads(await _body(request))
    except ValueError as e:
        raise bad_request(f"invalid JSON body: {e}") from e
