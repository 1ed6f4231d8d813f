"""SPDY/3.1 framing, the subset kubectl's port-forward streams use (pure but for zlib state).

A ``Framer`` turns the bytes of one SPDY session into ``Frame``s and back: control frames
(``SYN_STREAM``, ``SYN_REPLY``, ``RST_STREAM``, ``SETTINGS``, ``PING``, ``GOAWAY``, ``WINDOW_UPDATE``)
and data frames with the ``FIN`` flag. Header blocks are compressed with one zlib context per direction
seeded with the SPDY/3 dictionary, as the protocol requires (the dictionary's Adler-32 is checked by
zlib against the peer's). Flow control is not enforced: Go's spdystream, kubectl's side, does not
either.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
MAX_DATA = 32 * 1024

_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base content-encoding "
    "content-language content-length content-location content-md5 content-range content-type date etag "
    "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
    "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
    "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate "
    "method get status 200_OK version HTTP/1.1 url public set-cookie keep-alive origin"
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = (
    b"".join(struct.pack(">I", len(w)) + w.replace("_", " ").encode() for w in _WORDS.split())
    + _TAIL.encode()
)


class SpdyError(Exception):
    """A byte stream that is not SPDY/3."""


@dataclass
class Frame:
    """One frame: ``kind`` 0 is a data frame, else the control frame type."""

    kind: int
    stream_id: int = 0
    flags: int = 0
    data: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _pack_headers(headers: dict[str, str]) -> bytes:
    out = [struct.pack(">I", len(headers))]
    for name, value in headers.items():
        raw_name, raw_value = name.lower().encode(), value.encode()
        out += [struct.pack(">I", len(raw_name)), raw_name, struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(out)


def _unpack_headers(block: bytes) -> dict[str, str]:
    (count,), pos, out = struct.unpack_from(">I", block), 4, {}
    for _ in range(count):
        (size,) = struct.unpack_from(">I", block, pos)
        name = block[pos + 4 : pos + 4 + size].decode()
        pos += 4 + size
        (size,) = struct.unpack_from(">I", block, pos)
        out[name.lower()] = block[pos + 4 : pos + 4 + size].decode(errors="replace")
        pos += 4 + size
    return out


class Framer:
    """One side of a SPDY session: ``feed`` bytes in, get frames; ``encode`` frames out."""

    def __init__(self) -> None:
        self._buffer = b""
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            (length,) = struct.unpack(">I", b"\0" + self._buffer[5:8])
            if len(self._buffer) < 8 + length:
                break
            head, payload = self._buffer[:8], self._buffer[8 : 8 + length]
            self._buffer = self._buffer[8 + length :]
            frames.append(self._frame(head, payload))
        return frames

    def _frame(self, head: bytes, payload: bytes) -> Frame:
        first, flags = struct.unpack(">I", head[:4])[0], head[4]
        if not first & 0x80000000:
            return Frame(0, first & 0x7FFFFFFF, flags, payload)
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise SpdyError(f"unsupported SPDY version {version}")
        frame = Frame(kind, flags=flags, data=payload)
        if kind in (SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE) and len(payload) >= 4:
            frame.stream_id = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
        block = payload[10:] if kind == SYN_STREAM else payload[4:] if kind in (SYN_REPLY, HEADERS) else b""
        if block:
            try:
                frame.headers = _unpack_headers(self._inflate.decompress(block))
            except (zlib.error, struct.error, UnicodeDecodeError) as err:
                raise SpdyError(f"bad header block: {err}") from err
        return frame

    def control(self, kind: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload

    def reply(self, stream_id: int, headers: dict[str, str] | None = None) -> bytes:
        block = self._deflate.compress(_pack_headers(headers or {})) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        return self.control(SYN_REPLY, 0, struct.pack(">I", stream_id) + block)

    def data(self, stream_id: int, data: bytes, fin: bool = False) -> bytes:
        flags = FLAG_FIN if fin else 0
        return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(data)) + data

    def reset(self, stream_id: int, status: int = 1) -> bytes:
        return self.control(RST_STREAM, 0, struct.pack(">II", stream_id, status))
