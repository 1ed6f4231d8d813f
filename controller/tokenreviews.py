"""Who sent a request: a ServiceAccount token checked with a ``TokenReview`` for one audience, cached.

Agents send projected tokens of audience ``varmor-manager`` (upstream spec §3.8). A verdict is cached
for ``ttl`` seconds (positive and negative), keyed by a hash of the token; the cache is bounded. An
API failure is not a verdict: it propagates (the caller answers 503, the agent retries).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from kubernetes import client

from api.names import TOKEN_AUDIENCE


class TokenReviewer:
    def __init__(self, api: client.ApiClient, audience: str = TOKEN_AUDIENCE, ttl: float = 60.0,
                 size: int = 4096) -> None:
        self.authn: Any = client.AuthenticationV1Api(api)
        self.audience = audience
        self.ttl = ttl
        self.size = size
        self._cache: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def _review(self, token: str) -> str | None:
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                "spec": {"token": token, "audiences": [self.audience]}}
        status = self.authn.create_token_review(body).status
        if not status or status.authenticated is not True:
            return None
        if status.audiences and self.audience not in status.audiences:
            return None
        return str(status.user.username) if status.user else ""

    def authenticate(self, token: str) -> str | None:
        """The user name the token belongs to, or None when it is not valid for the audience."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
            if hit is not None and hit[0] > now:
                return hit[1]
        user = self._review(token)
        with self._lock:
            self._cache[digest] = (now + self.ttl, user)
            self._cache.move_to_end(digest)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return user
