"""Who sent a request and what they may do: ``TokenReview`` for one audience and ``SubjectAccessReview``.

Agents send projected tokens of audience ``varmor-manager`` (upstream spec §3.8); the reviewed
identity (user name, uid, groups) is cached for ``ttl`` seconds (positive and negative verdicts),
keyed by a hash of the token, in a bounded cache. The model export/import endpoints then ask the API
server whether that identity may ``get`` / ``create`` the ``armorprofilemodels`` object (a
SubjectAccessReview, as upstream does), cached for a shorter time so that a revoked binding takes
effect within seconds. An API failure is not a verdict: it propagates (the caller answers 503, the
agent retries).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kubernetes import client

from api.names import ARMOR_PROFILE_MODELS, GROUP, TOKEN_AUDIENCE

V = TypeVar("V")


@dataclass(frozen=True)
class Identity:
    user: str
    uid: str = ""
    groups: tuple[str, ...] = ()


class _TtlCache(Generic[V]):
    """A bounded, thread-safe map whose entries expire after ``ttl`` seconds."""

    def __init__(self, ttl: float, size: int) -> None:
        self.ttl, self.size = ttl, size
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, V | None]:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > time.monotonic():
                return True, hit[1]
        return False, None

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class TokenReviewer:
    def __init__(self, api: client.ApiClient, audience: str = TOKEN_AUDIENCE, ttl: float = 60.0,
                 size: int = 4096) -> None:
        self.authn: Any = client.AuthenticationV1Api(api)
        self.audience = audience
        self._cache: _TtlCache[Identity | None] = _TtlCache(ttl, size)

    def _review(self, token: str) -> Identity | None:
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                "spec": {"token": token, "audiences": [self.audience]}}
        status = self.authn.create_token_review(body).status
        if not status or status.authenticated is not True:
            return None
        if status.audiences and self.audience not in status.audiences:
            return None
        user = status.user
        if user is None:
            return Identity("")
        return Identity(str(user.username or ""), str(user.uid or ""), tuple(user.groups or ()))

    def authenticate(self, token: str) -> Identity | None:
        """Who the token belongs to, or None when it is not valid for the audience."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        hit, identity = self._cache.get(digest)
        if hit:
            return identity
        identity = self._review(token)
        self._cache.put(digest, identity)
        return identity


class AccessReviewer:
    """May an identity ``verb`` the ArmorProfileModel ``namespace/name``? (SubjectAccessReview, cached)."""

    def __init__(self, api: client.ApiClient, ttl: float = 5.0, size: int = 4096) -> None:
        self.authz: Any = client.AuthorizationV1Api(api)
        self._cache: _TtlCache[bool] = _TtlCache(ttl, size)

    def _review(self, identity: Identity, verb: str, namespace: str, name: str) -> bool:
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": identity.user, "uid": identity.uid, "groups": list(identity.groups),
                         "resourceAttributes": {"group": GROUP, "resource": ARMOR_PROFILE_MODELS,
                                                "verb": verb, "namespace": namespace, "name": name}}}
        status = self.authz.create_subject_access_review(body).status
        return bool(status is not None and status.allowed is True and status.denied is not True)

    def allowed(self, identity: Identity, verb: str, namespace: str, name: str) -> bool:
        key = (identity, verb, namespace, name)
        hit, verdict = self._cache.get(key)
        if hit:
            return bool(verdict)
        verdict = self._review(identity, verb, namespace, name)
        self._cache.put(key, verdict)
        return verdict
