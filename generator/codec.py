"""Wire format of the model: ``BehaviorModel`` ↔ the ArmorProfileModel ``data`` dict.

Seed field names (``dynamicResult.apparmor``, ``networks``, ``oldPath``, ...) are kept as
they are; our additions are the top-level ``coverage``, ``provenance`` and
``execSessionOnly`` keys and the ``mounts``/``egresses`` lists. ``from_data`` also reads
upstream's later spelling ``appArmor``. JSON and YAML round trips lose nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.models import (
    AppArmorResult,
    BehaviorModel,
    Coverage,
    DroppedRule,
    Egress,
    ExecOnly,
    FileRule,
    Mount,
    Provenance,
    Ptrace,
    Signal,
    Socket,
)

Data = dict[str, Any]


def _file(f: FileRule) -> Data:
    out: Data = {"path": f.path}
    if f.owner:
        out["owner"] = True
    out["permissions"] = list(f.permissions)
    if f.old_path:
        out["oldPath"] = f.old_path
    return out


def apparmor_to_dict(a: AppArmorResult) -> Data:
    return {
        "profiles": list(a.profiles),
        "executions": list(a.executions),
        "files": [_file(f) for f in a.files],
        "capabilities": list(a.capabilities),
        "networks": {
            "sockets": [{"domain": s.domain, "type": s.type, "protocol": s.protocol} for s in a.sockets],
            "egresses": [{"ip": e.ip, "ports": list(e.ports)} for e in a.egresses],
        },
        "ptraces": [{"peer": p.peer, "permissions": list(p.permissions), "external": p.external}
                    for p in a.ptraces],
        "signals": [{"peer": s.peer, "permissions": list(s.permissions), "signals": list(s.signals)}
                    for s in a.signals],
        "mounts": [{"path": m.path, "type": m.type, "flags": list(m.flags)} for m in a.mounts],
        "unhandled": list(a.unhandled),
    }


def _coverage(c: Coverage) -> Data:
    return {
        "node": c.node, "lostEvents": c.lost_events, "mapFull": c.map_full,
        "pathsTruncated": c.paths_truncated, "invalidEvents": c.invalid_events,
        "dropped": [{"kind": d.kind, "value": d.value, "reason": d.reason} for d in c.dropped],
        "sources": list(c.sources),
    }


def to_data(model: BehaviorModel) -> Data:
    total = model.total_coverage()
    return {
        "dynamicResult": {
            "apparmor": apparmor_to_dict(model.apparmor),
            "seccomp": {"syscalls": list(model.syscalls)},
        },
        "staticResult": {},
        "coverage": {
            "lostEvents": total.lost_events, "mapFull": total.map_full,
            "pathsTruncated": total.paths_truncated, "invalidEvents": total.invalid_events,
            "rulesDropped": len(total.dropped), "sources": list(total.sources),
            "nodes": [_coverage(c) for c in model.coverage],
        },
        "provenance": [
            {"node": p.node, "namespace": p.namespace, "pod": p.pod, "container": p.container,
             "target": p.target, "firstSeen": p.first_seen, "lastSeen": p.last_seen}
            for p in model.provenance
        ],
        "execSessionOnly": {
            "executions": list(model.exec_only.executions), "files": list(model.exec_only.files),
            "capabilities": list(model.exec_only.capabilities), "syscalls": list(model.exec_only.syscalls),
        },
    }


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value or ()))


def apparmor_from_dict(a: Mapping[str, Any]) -> AppArmorResult:
    networks = a.get("networks") or {}
    return AppArmorResult(
        profiles=_strs(a.get("profiles")),
        executions=_strs(a.get("executions")),
        files=tuple(FileRule(str(f["path"]), _strs(f.get("permissions")), bool(f.get("owner", False)),
                             str(f.get("oldPath", ""))) for f in a.get("files") or ()),
        capabilities=_strs(a.get("capabilities")),
        sockets=tuple(Socket(str(s.get("domain", "")), str(s.get("type", "")), str(s.get("protocol", "")))
                      for s in networks.get("sockets") or ()),
        egresses=tuple(Egress(str(e["ip"]), tuple(int(p) for p in e.get("ports") or ()))
                       for e in networks.get("egresses") or ()),
        ptraces=tuple(Ptrace(str(p["peer"]), _strs(p.get("permissions")), bool(p.get("external", False)))
                      for p in a.get("ptraces") or ()),
        signals=tuple(Signal(str(s["peer"]), _strs(s.get("permissions")), _strs(s.get("signals")))
                      for s in a.get("signals") or ()),
        mounts=tuple(Mount(str(m["path"]), str(m.get("type", "")), _strs(m.get("flags")))
                     for m in a.get("mounts") or ()),
        unhandled=_strs(a.get("unhandled")),
    )


def _coverage_from(c: Mapping[str, Any]) -> Coverage:
    return Coverage(
        node=str(c.get("node", "")), lost_events=int(c.get("lostEvents", 0)),
        map_full=int(c.get("mapFull", 0)), paths_truncated=int(c.get("pathsTruncated", 0)),
        invalid_events=int(c.get("invalidEvents", 0)),
        dropped=tuple(DroppedRule(str(d["kind"]), str(d["value"]), str(d["reason"]))
                      for d in c.get("dropped") or ()),
        sources=_strs(c.get("sources")),
    )


def from_data(data: Mapping[str, Any]) -> BehaviorModel:
    """Read ``data`` (or a bare ``dynamicResult``) of an ArmorProfileModel."""
    dynamic = data.get("dynamicResult", data)
    apparmor = dynamic.get("apparmor", dynamic.get("appArmor")) or {}
    seccomp = dynamic.get("seccomp") or {}
    exec_only = data.get("execSessionOnly") or {}
    return BehaviorModel(
        apparmor=apparmor_from_dict(apparmor),
        syscalls=_strs(seccomp.get("syscalls")),
        coverage=tuple(_coverage_from(c) for c in (data.get("coverage") or {}).get("nodes") or ()),
        provenance=tuple(
            Provenance(str(p.get("node", "")), str(p.get("namespace", "")), str(p.get("pod", "")),
                       str(p.get("container", "")), str(p.get("target", "")),
                       float(p.get("firstSeen", 0.0)), float(p.get("lastSeen", 0.0)))
            for p in data.get("provenance") or ()
        ),
        exec_only=ExecOnly(_strs(exec_only.get("executions")), _strs(exec_only.get("files")),
                           _strs(exec_only.get("capabilities")), _strs(exec_only.get("syscalls"))),
    )
