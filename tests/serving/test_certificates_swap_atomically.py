"""While the certificate files are rewritten over and over, every handshake gets a matching pair.

A real TLS server thread takes its context from ``CertificateReloader`` per handshake (as gunicorn's
workers do through the SNI callback); a writer re-issues the serving certificate in a loop, so
``tls.crt`` and ``tls.key`` are often out of step on disk for a moment.
"""

from __future__ import annotations

import datetime
import pathlib
import socket
import ssl
import threading

from certs.authority import ServingNames, new_bundle, reissue_serving
from certs.stores import DirectoryStore
from serving.tls import CertificateReloader

NOW = datetime.datetime.now(datetime.UTC)
NAMES = ServingNames("varmor", ("127.0.0.1",))


def _serve(listener: socket.socket, reloader: CertificateReloader, stop: threading.Event) -> None:
    base = reloader.current()
    while not stop.is_set():
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        try:
            with base.wrap_socket(connection, server_side=True) as tls:
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError):
            pass


def test_no_handshake_ever_sees_a_mismatched_pair(tmp_path: pathlib.Path) -> None:
    store = DirectoryStore(tmp_path)
    bundle = new_bundle(NAMES, NOW)
    store.save(bundle)
    reloader = CertificateReloader(tmp_path / "tls.crt", tmp_path / "tls.key", interval=0)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    server = threading.Thread(target=_serve, args=(listener, reloader, stop), daemon=True)
    server.start()

    def rewrite() -> None:
        while not stop.is_set():
            store.save(reissue_serving(bundle, NAMES, datetime.datetime.now(datetime.UTC)))

    writer = threading.Thread(target=rewrite, daemon=True)
    writer.start()
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    seen: set[bytes] = set()
    try:
        for _ in range(150):
            with client.wrap_socket(socket.create_connection(listener.getsockname(), timeout=5),
                                    server_hostname="127.0.0.1") as tls:
                seen.add(tls.getpeercert(binary_form=True) or b"")
                assert tls.recv(2) == b"ok"
    finally:
        stop.set()
        writer.join(timeout=10)
        server.join(timeout=10)
        listener.close()
    assert len(seen) > 2, "the server never picked up a rewritten certificate"


def test_a_mismatched_pair_on_disk_keeps_the_previous_context(tmp_path: pathlib.Path) -> None:
    one, other = new_bundle(NAMES, NOW), new_bundle(NAMES, NOW)
    DirectoryStore(tmp_path).save(one)
    reloader = CertificateReloader(tmp_path / "tls.crt", tmp_path / "tls.key", interval=0)
    first = reloader.current()
    (tmp_path / "tls.crt").write_bytes(other.cert)  # the key is still ``one``'s
    assert reloader.current() is first
    (tmp_path / "tls.key").write_bytes(other.key)
    assert reloader.current() is not first
