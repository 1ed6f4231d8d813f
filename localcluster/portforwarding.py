"""``pods/portforward``: kubelet's SPDY port-forward server, over the WebSocket tunnel kubectl 1.32 opens.

kubectl asks for the WebSocket subprotocol ``SPDY/3.1+portforward.k8s.io`` and then speaks plain SPDY
inside binary messages. For every local connection it opens two streams with the same ``requestID``:
``streamType: error`` and ``streamType: data`` with the ``port``. ``PortForwardSession`` replies to
each stream, connects to the port through ``dial`` (inside the pod's network namespace), copies bytes
both ways with ``FIN`` half-closes, writes kubelet's message on the error stream when the connection
fails, answers PINGs, and ends with the tunnel. ``serve_channels`` is the older WebSocket channel
protocol (``v4.channel.k8s.io``) that the ``kubernetes`` Python client's ``portforward`` speaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from localcluster import spdy

log = logging.getLogger(__name__)
PROTOCOL = "SPDY/3.1+portforward.k8s.io"
Send = Callable[[bytes], Awaitable[None]]
Dial = Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


def dial_error(port: int, pod_ref: str, address: str, err: Exception) -> str:
    """kubelet's message for a port it could not connect to."""
    why = (
        f"connect: {os.strerror(err.errno).lower()}"
        if isinstance(err, OSError) and err.errno
        else "i/o timeout"
    )
    return f"error forwarding port {port} to pod {pod_ref}: dial tcp {address}:{port}: {why}"


@dataclass
class _Pair:
    port: int = 0
    error_id: int = 0
    data_id: int = 0
    writer: asyncio.StreamWriter | None = None
    pending: list[bytes] = field(default_factory=list)  # client bytes before the connection is up
    client_done: bool = False


class PortForwardSession:
    """One port-forward tunnel to one pod."""

    def __init__(self, send: Send, dial: Dial, address: str, pod_ref: str) -> None:
        self.send = send
        self.dial = dial
        self.address = address
        self.pod_ref = pod_ref
        self.framer = spdy.Framer()
        self.pairs: dict[str, _Pair] = {}
        self.by_stream: dict[int, _Pair] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    async def _out(self, data: bytes) -> None:
        async with self._lock:
            await self.send(data)

    async def feed(self, data: bytes) -> bool:
        """Handle bytes from the client; False once the session is over (GOAWAY)."""
        for frame in self.framer.feed(data):
            if frame.kind == spdy.SYN_STREAM:
                await self._open(frame)
            elif frame.kind == 0:
                await self._client_data(frame)
            elif frame.kind == spdy.PING:
                await self._out(self.framer.control(spdy.PING, 0, frame.data))
            elif frame.kind == spdy.RST_STREAM:
                pair = self.by_stream.get(frame.stream_id)
                if pair is not None and pair.writer is not None:
                    pair.writer.close()
            elif frame.kind == spdy.GOAWAY:
                return False
        return True

    async def _open(self, frame: spdy.Frame) -> None:
        await self._out(self.framer.reply(frame.stream_id))
        request = frame.headers.get("requestid", str(frame.stream_id))
        pair = self.pairs.setdefault(request, _Pair())
        self.by_stream[frame.stream_id] = pair
        try:
            pair.port = int(frame.headers.get("port", "0"))
        except ValueError:
            pair.port = 0
        if frame.headers.get("streamtype") == "error":
            pair.error_id = frame.stream_id
        else:
            pair.data_id = frame.stream_id
            task = asyncio.create_task(self._forward(pair))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _client_data(self, frame: spdy.Frame) -> None:
        pair = self.by_stream.get(frame.stream_id)
        if pair is None or frame.stream_id != pair.data_id:
            return
        if pair.writer is None:
            pair.pending.append(frame.data)
        elif frame.data:
            pair.writer.write(frame.data)
            with contextlib.suppress(ConnectionError):
                await pair.writer.drain()
        if frame.flags & spdy.FLAG_FIN:
            pair.client_done = True
            if pair.writer is not None and pair.writer.can_write_eof():
                with contextlib.suppress(OSError):
                    pair.writer.write_eof()

    async def _forward(self, pair: _Pair) -> None:
        try:
            reader, writer = await asyncio.wait_for(self.dial(pair.port), 15)
        except (OSError, TimeoutError) as err:
            message = dial_error(pair.port, self.pod_ref, self.address, err)
            log.info("Port forward failed pod=%s port=%d error=%s", self.pod_ref, pair.port, err)
            if pair.error_id:
                await self._out(self.framer.data(pair.error_id, message.encode(), fin=True))
            await self._out(self.framer.data(pair.data_id, b"", fin=True))
            return
        pair.writer = writer
        for chunk in pair.pending:
            writer.write(chunk)
        if pair.client_done and writer.can_write_eof():
            writer.write_eof()
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(spdy.MAX_DATA):
                await self._out(self.framer.data(pair.data_id, chunk))
        with contextlib.suppress(ConnectionError):
            await self._out(self.framer.data(pair.data_id, b"", fin=True))
            if pair.error_id:
                await self._out(self.framer.data(pair.error_id, b"", fin=True))
        writer.close()

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for pair in self.pairs.values():
            if pair.writer is not None:
                pair.writer.close()


CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")


async def serve_channels(
    client: web.WebSocketResponse, dial: Dial, address: str, ports: list[int], pod_ref: str
) -> None:
    """The WebSocket channel protocol of the ``kubernetes`` clients: per port ``i`` a data channel
    ``2i`` and an error channel ``2i+1``, each opened by a frame with the port (2 bytes, little endian).
    The WebSocket closes when every connection to the pod has ended, or with the client."""
    readers: dict[int, asyncio.StreamReader] = {}
    writers: dict[int, asyncio.StreamWriter] = {}
    for index, port in enumerate(ports):  # connected before the client's bytes are read
        for channel in (2 * index, 2 * index + 1):
            await client.send_bytes(bytes([channel]) + port.to_bytes(2, "little"))
        try:
            readers[index], writers[index] = await asyncio.wait_for(dial(port), 15)
        except (OSError, TimeoutError) as err:
            message = dial_error(port, pod_ref, address, err)
            await client.send_bytes(bytes([2 * index + 1]) + message.encode())

    async def pump(index: int, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(spdy.MAX_DATA):
                await client.send_bytes(bytes([2 * index]) + chunk)

    async def feed() -> None:
        async for msg in client:
            if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
                break
            writer = writers.get(msg.data[0] // 2)
            if writer is not None and msg.data[0] % 2 == 0:
                writer.write(msg.data[1:])
                with contextlib.suppress(ConnectionError):
                    await writer.drain()

    async def pump_all() -> None:
        await asyncio.gather(*(pump(i, r) for i, r in readers.items()))

    tasks = [asyncio.create_task(feed()), asyncio.create_task(pump_all())]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
        await asyncio.gather(*tasks)
    for writer in writers.values():
        writer.close()
