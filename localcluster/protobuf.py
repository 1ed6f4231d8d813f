"""Decodes ``application/vnd.kubernetes.protobuf`` request bodies into the JSON object they carry.

kubectl's typed clients (``kubectl create namespace``, ``create deployment``, ``create token``,
``auth can-i`` …) send protobuf: the magic ``k8s\\x00``, then a ``runtime.Unknown`` envelope holding
``apiVersion``/``kind`` and the message bytes. The message is decoded with the field table in
``protofields``. Zero values of non-pointer fields are dropped, as JSON's ``omitempty`` would drop
them. A non-empty field the table does not know is refused with 415 rather than silently lost.
Pure functions over bytes.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from localcluster.errors import ApiError, bad_request
from localcluster.protofields import KEEP_ZERO, MESSAGES

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
_MASK64 = (1 << 64) - 1


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise bad_request("truncated protobuf varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> list[tuple[int, int, Any]]:
    """The (number, wire type, raw value) of each field in ``data``."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise bad_request("truncated protobuf field")
            value, pos = data[pos : pos + size], pos + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, pos = int.from_bytes(data[pos : pos + width], "little"), pos + width
        else:
            raise bad_request(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, value))
    return out


def _signed(value: int) -> int:
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(raw: bytes) -> str | None:
    parts = {n: v for n, _, v in fields(raw)}
    if not parts:
        return None
    when = datetime.datetime.fromtimestamp(_signed(parts.get(1, 0)), datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(raw: bytes) -> int | str:
    parts = {n: v for n, _, v in fields(raw)}
    return parts.get(3, b"").decode() if parts.get(1) == 1 else _signed(parts.get(2, 0))


def _scalar(typ: str, wire: int, raw: Any) -> Any:
    if typ == "s":
        return bytes(raw).decode()
    if typ == "i":
        return _signed(raw)
    if typ == "b":
        return bool(raw)
    if typ == "y":
        return base64.b64encode(raw).decode()
    if typ == "t":
        return _time(raw)
    if typ == "q":
        return {n: v for n, _, v in fields(raw)}.get(1, b"").decode()
    if typ == "n":
        return _int_or_string(raw)
    if wire != 2:
        raise bad_request(f"protobuf field of {typ} is not length-delimited")
    return message(raw, typ)


def _values(typ: str, wire: int, raw: Any) -> list[Any]:
    """One value, or several for a packed repeated integer field."""
    if wire == 2 and typ in ("i", "b"):
        out, pos = [], 0
        while pos < len(raw):
            value, pos = _varint(raw, pos)
            out.append(_scalar(typ, 0, value))
        return out
    return [_scalar(typ, wire, raw)]


def _map_entry(raw: bytes, typ: str) -> tuple[str, Any]:
    key, value = "", _scalar(typ, 2, b"") if typ not in ("i", "b") else 0
    for number, wire, item in fields(raw):
        if number == 1:
            key = bytes(item).decode()
        elif number == 2:
            value = _scalar(typ, wire, item)
    return key, value


def _is_zero(value: Any) -> bool:
    return value in (None, "", 0, False, b"", [], {})


def message(data: bytes, name: str) -> dict[str, Any]:
    """Decode the message ``name`` from ``data`` into its JSON form."""
    if name == "Empty":
        return {}
    table = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, wire, raw in fields(data):
        if number not in table:
            if not raw:
                continue
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the local cluster does not decode protobuf field {number} of {name}; send it as JSON",
            )
        field, typ, repeated = table[number]
        if typ.startswith("{"):
            key, value = _map_entry(raw, typ[1:])
            out.setdefault(field, {})[key] = value
        elif repeated:
            out.setdefault(field, []).extend(_values(typ, wire, raw))
        else:
            out[field] = _scalar(typ, wire, raw)
    return {k: v for k, v in out.items() if (k in KEEP_ZERO and v is not None) or not _is_zero(v) or v == {}}


def decode(body: bytes) -> dict[str, Any]:
    """The object in a Kubernetes protobuf request body (magic prefix and ``runtime.Unknown``)."""
    if not body.startswith(MAGIC):
        raise bad_request("the protobuf body lacks the k8s\\x00 prefix")
    envelope = {n: v for n, _, v in fields(body[len(MAGIC) :])}
    type_meta = {n: bytes(v).decode() for n, _, v in fields(envelope.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    if kind not in MESSAGES or kind in ("ObjectMeta", "Empty"):
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the local cluster does not decode {kind or 'this kind'} from protobuf; "
            "accepted media types include: application/json, application/yaml",
        )
    obj = message(envelope.get(2, b""), kind)
    return {"apiVersion": api_version, "kind": kind, **obj}
