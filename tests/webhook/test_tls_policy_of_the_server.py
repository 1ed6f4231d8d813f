"""The running webhook speaks TLS 1.3 by preference and TLS 1.2 only with ECDHE and AEAD ciphers."""

from __future__ import annotations

import socket
import ssl

import pytest

from tests.webhook.conftest import RunningWebhook


def _client(webhook: RunningWebhook, *, version: ssl.TLSVersion | None = None,
            ciphers: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(webhook.ca))
    if version is not None:
        context.minimum_version = context.maximum_version = version
    if ciphers is not None:
        context.set_ciphers(ciphers)
    return context


def _handshake(webhook: RunningWebhook, context: ssl.SSLContext) -> tuple[str, str]:
    with context.wrap_socket(socket.create_connection(("127.0.0.1", webhook.port), timeout=5),
                             server_hostname="127.0.0.1") as tls:
        version, cipher = tls.version(), tls.cipher()
        assert version is not None and cipher is not None
        return version, cipher[0]


def test_a_default_client_gets_tls_1_3(webhook_server: RunningWebhook) -> None:
    assert _handshake(webhook_server, _client(webhook_server))[0] == "TLSv1.3"


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"])
def test_tls_1_2_with_ecdhe_and_an_aead_cipher_is_accepted(
    webhook_server: RunningWebhook, cipher: str
) -> None:
    client = _client(webhook_server, version=ssl.TLSVersion.TLSv1_2, ciphers=cipher)
    assert _handshake(webhook_server, client) == ("TLSv1.2", cipher)


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA",
                                    "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256"])
def test_tls_1_2_without_ecdhe_or_aead_is_refused(webhook_server: RunningWebhook, cipher: str) -> None:
    client = _client(webhook_server, version=ssl.TLSVersion.TLSv1_2, ciphers=cipher)
    with pytest.raises(ssl.SSLError):
        _handshake(webhook_server, client)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_1_1_is_refused(webhook_server: RunningWebhook) -> None:
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    client.set_ciphers("ALL:@SECLEVEL=0")
    client.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    client.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        _handshake(webhook_server, client)
