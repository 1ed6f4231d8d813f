"""Rules the tracer's events need: directories keep AppArmor's trailing "/", an executed file in
a library tree gets an exec rule for itself only (never ``<tree>** ix``), and a rename's source
is readable and writable."""

from __future__ import annotations

from generator.aggregate import model_from_events
from generator.render import render_apparmor

LD_SO = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"


def rendered(*events: dict[str, object]) -> list[str]:
    text = render_apparmor(model_from_events("t", [{"v": 1, "target": "t", **e} for e in events]), "t")
    return [line.strip().rstrip(",") for line in text.splitlines()]


def test_a_directory_rule_keeps_its_trailing_slash() -> None:
    lines = rendered({"kind": "file", "path": "/srv/data/", "access": ["read", "create"], "owner": False,
                      "directory": True})
    assert "/srv/data/ rw" in lines
    assert "/srv/data rw" not in lines


def test_running_the_dynamic_loader_allows_the_loader_alone() -> None:
    lines = rendered({"kind": "exec", "path": LD_SO},
                     {"kind": "file", "path": "/usr/lib/x86_64-linux-gnu/libc.so.6",
                      "access": ["read", "mmap"], "owner": False})
    assert f"{LD_SO} ix" in lines
    assert not [line for line in lines if line.endswith("** ix")]
    assert "/usr/lib/x86_64-linux-gnu/** mr" in lines  # reads of the tree are still collapsed


def test_the_source_of_a_rename_is_readable_and_writable() -> None:
    lines = rendered({"kind": "file", "path": "/srv/log.1", "access": ["read", "rename"], "owner": False})
    assert "/srv/log.1 rw" in lines
