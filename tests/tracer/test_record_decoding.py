"""Kernel records are decoded into schema v1 events; a file record's JSON line, written directly
for speed, says exactly what its event says."""

from __future__ import annotations

import json

import pytest

from tracer import decoding
from tracer.tracing import ENCODE

A_READ, A_WRITE, A_CREATE, A_DIR, A_NAME = 1, 2, 8, decoding.A_DIR, decoding.A_NAME


def record(a0: int, path: bytes, s1: bytes = b"", owner: int = 1, trunc: int = 0) -> bytes:
    """A ring-buffer record as tracer.c sends it: compact (header + path) unless it has a name."""
    if not s1:
        head = decoding.COMPACT.pack(2, 42, 7, 1, a0, owner, 0, 0, len(path), trunc, 3, 1, b"tar")
        return head + path + b"\0"
    head = decoding.HEADER.pack(2, 42, 7, 0, a0, owner, 0, 0, len(path), trunc, 3, 0, b"mv", b"", s1)
    return head + path + b"\0"


@pytest.mark.parametrize(("raw", "path"), [
    (record(A_READ, b"/etc/passwd"), "/etc/passwd"),
    (record(A_READ | A_DIR, b"/usr/share"), "/usr/share/"),
    (record(A_WRITE | A_CREATE, b"/tmp/\xff\"q\"\n", owner=0), "/tmp/\udcff\"q\"\n"),
    (record(A_WRITE | A_NAME, b"/work", s1=b"../tmp/x"), "/tmp/x"),
    (record(A_READ, b"/a/very/long", trunc=1), "/a/very/long"),
])
def test_a_file_record_line_is_its_event(raw: bytes, path: str) -> None:
    unpacked = decoding.unpack(raw, "ctr-1")
    event = decoding.to_event(unpacked)
    assert event is not None and event["path"] == path and event["pid"] == 42
    assert decoding.file_line(unpacked) == ENCODE(event)
    assert json.loads(decoding.file_line(unpacked)) == event


def test_records_that_say_the_same_share_a_key_whatever_their_process() -> None:
    first = decoding.unpack(record(A_READ, b"/etc/hosts"), "t")
    again = decoding.unpack(record(A_READ, b"/etc/hosts").replace(b"tar", b"cat", 1), "t")
    assert decoding.file_key(first) == decoding.file_key(again)
    assert decoding.file_key(first) != decoding.file_key(decoding.unpack(record(A_WRITE, b"/etc/hosts"), "t"))
