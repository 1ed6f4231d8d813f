"""Cluster DNS for pods: ``<service>.<namespace>.svc.cluster.local`` → the Service's ClusterIP.

A small UDP server on the pod network's gateway address (bound with ``IP_FREEBIND``, as the bridge
appears only with the first pod) answers A queries for Service names from the cluster's store;
every other name gets NXDOMAIN (traffic stays on this machine). Pods get it as their nameserver
with kubelet's search path (``<ns>.svc.cluster.local svc.cluster.local cluster.local``, ndots 5),
so ``varmor-status-svc.varmor.svc`` resolves inside a pod. ``answer`` is pure.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable
from typing import cast

log = logging.getLogger(__name__)
DOMAIN = "cluster.local"
IP_FREEBIND = 15
TYPE_A, CLASS_IN = 1, 1


def search_path(namespace: str) -> list[str]:
    return [f"{namespace}.svc.{DOMAIN}", f"svc.{DOMAIN}", DOMAIN]


def _question(packet: bytes) -> tuple[str, int, int, int]:
    """The first question's name, type, class, and where it ends."""
    labels, pos = [], 12
    while True:
        length = packet[pos]
        if length == 0 or length & 0xC0:
            pos += 1 if length == 0 else 2
            break
        labels.append(packet[pos + 1 : pos + 1 + length].decode(errors="replace"))
        pos += 1 + length
    qtype, qclass = struct.unpack("!HH", packet[pos : pos + 4])
    return ".".join(labels).lower(), qtype, qclass, pos + 4


def answer(packet: bytes, lookup: Callable[[str, str], str | None]) -> bytes | None:
    """The response to one query; ``lookup(namespace, service)`` gives a ClusterIP (pure)."""
    if len(packet) < 17:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    try:
        name, qtype, qclass, end = _question(packet)
    except (IndexError, struct.error):
        return None
    parts = name.removesuffix(f".{DOMAIN}").split(".") if name.endswith(f".{DOMAIN}") else []
    ip = lookup(parts[1], parts[0]) if len(parts) == 3 and parts[2] == "svc" else None
    known = ip is not None
    records = b""
    if known and qtype == TYPE_A and qclass == CLASS_IN:
        records = (
            b"\xc0\x0c" + struct.pack("!HHIH", TYPE_A, CLASS_IN, 5, 4) + ipaddress.IPv4Address(ip).packed
        )
    rcode = 0 if known else 3
    header = struct.pack("!HHHHHH", ident, 0x8400 | (flags & 0x0100) | rcode, 1, 1 if records else 0, 0, 0)
    return header + packet[12:end] + records


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, lookup: Callable[[str, str], str | None]) -> None:
        self.lookup = lookup
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        reply = answer(data, self.lookup)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


async def serve(
    address: str, lookup: Callable[[str, str], str | None], port: int = 53
) -> asyncio.DatagramTransport:
    """Answer cluster DNS on ``address:port`` (which may not exist yet)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
    sock.bind((address, port))
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(lookup), sock=sock)
    log.info("Serving cluster DNS address=%s:%d", address, port)
    return transport
