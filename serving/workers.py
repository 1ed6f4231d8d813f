"""The gunicorn worker that slow and idle clients cannot starve: gevent, with a handshake deadline.

gunicorn's ``gthread`` worker does the TLS handshake and reads the request headers in one of its few
threads, without a deadline, so a handful of clients that trickle bytes stall every request. Under
gevent each connection is a greenlet: a slow client costs memory, not a thread. On top of gunicorn's
gevent worker this one defers the handshake out of the accept path and bounds it by
``handshake_timeout`` (``ServingSettings``); request headers are bounded by the keep-alive timeout
(gunicorn), and the number of connections per worker by ``worker_connections``.

Imported in the arbiter by ``serving.servers``, which hands gunicorn a subclass per server; the
monkey-patching happens in each worker process only.
"""

from __future__ import annotations

import socket
from typing import Any

import gevent
from gevent import ssl as gevent_ssl
from gunicorn.workers.ggevent import GeventWorker


class DeferredHandshakeContext(gevent_ssl.SSLContext):  # type: ignore[misc]
    """A gevent SSL context whose sockets shake hands when the worker says so, not on accept."""

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
        kwargs["do_handshake_on_connect"] = False
        return super().wrap_socket(sock, *args, **kwargs)


class HardenedGeventWorker(GeventWorker):  # type: ignore[misc]
    """gunicorn's gevent worker with a deadline on the TLS handshake."""

    handshake_timeout = 10.0  # a subclass per server sets it (``servers.gunicorn_options``)

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        if isinstance(client, gevent_ssl.SSLSocket):
            try:
                with gevent.Timeout(self.handshake_timeout):
                    client.do_handshake()
            except (gevent.Timeout, OSError):  # ssl.SSLError is an OSError
                self.log.debug("Closed a connection that did not finish its TLS handshake in time")
                client.close()
                return
        super().handle(listener, client, addr)
