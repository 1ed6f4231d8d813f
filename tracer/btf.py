"""A small reader of the kernel's BTF (``/sys/kernel/btf/vmlinux``): struct member offsets.

BCC compiles against whatever kernel headers are installed, which may not match the running
kernel (6.1 headers put ``task_struct.nsproxy`` at 3064, a 6.18 kernel at 1840) and then reads
silently return 0. The tracer never dereferences kernel structs through header layouts: it asks
this module for offsets and hands them to the BPF program as ``-D`` flags ("poor man's CO-RE").
Only what offsets need is parsed: struct/union members (following anonymous members) and
typedef/qualifier chains, and the ids of structs and functions (kfunc calls name them by id).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

VMLINUX = "/sys/kernel/btf/vmlinux"
# kind -> (fixed extra bytes, bytes per vlen entry), from include/uapi/linux/btf.h
_EXTRA: dict[int, tuple[int, int]] = {
    1: (4, 0), 2: (0, 0), 3: (12, 0), 4: (0, 12), 5: (0, 12), 6: (0, 8), 7: (0, 0), 8: (0, 0),
    9: (0, 0), 10: (0, 0), 11: (0, 0), 12: (0, 0), 13: (0, 8), 14: (4, 0), 15: (0, 12), 16: (0, 0),
    17: (4, 0), 18: (0, 0), 19: (0, 12), 20: (0, 0),
}
_STRUCT, _UNION, _FUNC = 4, 5, 12
_QUALIFIERS = frozenset({8, 9, 10, 11, 18})  # typedef, volatile, const, restrict, type_tag


@dataclass(frozen=True)
class _Type:
    kind: int
    name: str
    size_or_type: int
    members: tuple[tuple[str, int, int], ...]  # (name, type id, bit offset)


class BTF:
    """Parsed BTF types; ``offsetof("task_struct", "nsproxy")`` gives a byte offset."""

    def __init__(self, path: str = VMLINUX) -> None:
        with open(path, "rb") as f:
            data = f.read()
        magic, _ver, _flags, hdr, t_off, t_len, s_off, s_len = struct.unpack_from("<HBBIIIII", data)
        if magic != 0xEB9F:
            raise ValueError(f"{path} is not BTF")
        self._strs = data[hdr + s_off: hdr + s_off + s_len]
        self._types: list[_Type] = [_Type(0, "", 0, ())]
        self._by_name: dict[str, int] = {}
        self._funcs: dict[str, int] = {}
        self._parse(data[hdr + t_off: hdr + t_off + t_len])

    def _parse(self, tdata: bytes) -> None:
        pos = 0
        while pos < len(tdata):
            name_off, info, size_or_type = struct.unpack_from("<III", tdata, pos)
            kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
            pos += 12
            members: tuple[tuple[str, int, int], ...] = ()
            if kind in (_STRUCT, _UNION):
                raw = [struct.unpack_from("<III", tdata, pos + i * 12) for i in range(vlen)]
                members = tuple((self._str(mn), mt, (mo & 0xFFFFFF) if kflag else mo) for mn, mt, mo in raw)
            fixed, per = _EXTRA[kind]
            pos += fixed + per * vlen
            name = self._str(name_off)
            self._types.append(_Type(kind, name, size_or_type, members))
            if name and kind in (_STRUCT, _UNION):
                self._by_name.setdefault(name, len(self._types) - 1)
            elif name and kind == _FUNC:
                self._funcs.setdefault(name, len(self._types) - 1)

    def _str(self, off: int) -> str:
        return self._strs[off: self._strs.index(b"\0", off)].decode()

    def _strip(self, tid: int) -> _Type:
        t = self._types[tid]
        while t.kind in _QUALIFIERS:
            t = self._types[t.size_or_type]
        return t

    def _find(self, tid: int, member: str) -> tuple[int, int] | None:
        for name, mtype, bitoff in self._strip(tid).members:
            if name == member:
                return bitoff, mtype
            if not name:
                sub = self._find(mtype, member)
                if sub is not None:
                    return bitoff + sub[0], sub[1]
        return None

    def _struct_id(self, name: str) -> int:
        if name not in self._by_name:
            raise KeyError(f"struct {name} is not in BTF")
        return self._by_name[name]

    def offsetof(self, struct_name: str, path: str) -> int:
        """Byte offset of ``path`` ("a" or "a.b.c") inside ``struct struct_name``."""
        tid, total = self._struct_id(struct_name), 0
        for member in path.split("."):
            found = self._find(tid, member)
            if found is None:
                raise KeyError(f"struct {struct_name} has no member {path}")
            total, tid = total + found[0], found[1]
        if total % 8:
            raise KeyError(f"{struct_name}.{path} is a bitfield")
        return total // 8

    def has_member(self, struct_name: str, path: str) -> bool:
        try:
            self.offsetof(struct_name, path)
        except KeyError:
            return False
        return True

    def sizeof(self, struct_name: str) -> int:
        return self._types[self._struct_id(struct_name)].size_or_type

    def struct_id(self, name: str) -> int:
        """The type id of ``struct name`` (a kfunc's argument names types by id)."""
        return self._struct_id(name)

    def func_id(self, name: str) -> int:
        """The type id of kernel function ``name`` (a kfunc is called by it); -1 when absent."""
        return self._funcs.get(name, -1)
