"""The user guide's scenario renders exactly the profiles the guide prints."""

from __future__ import annotations

import json
import pathlib

from generator.apm import armor_profile_model, read_document
from generator.checking import check_apparmor
from generator.render import render_apparmor, render_seccomp

DATA = pathlib.Path(__file__).parent / "data"


def _seed_document() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((DATA / "seed_demo4.model.json").read_text())
    return loaded


def test_seed_model_renders_the_golden_apparmor_profile_byte_for_byte() -> None:
    model = read_document(_seed_document()).model
    assert render_apparmor(model) == (DATA / "seed_demo4.apparmor").read_text()


def test_the_rendered_seed_profile_is_the_guides_profile_line_for_line() -> None:
    rendered = render_apparmor(read_document(_seed_document()).model).splitlines()
    guide = (DATA / "seed_demo4.guide.apparmor").read_text().splitlines()
    assert [line.strip() for line in rendered if line.strip()] == guide


def test_seed_model_renders_the_guides_seccomp_profile() -> None:
    model = read_document(_seed_document()).model
    guide = json.loads((DATA / "seed_demo4.guide.seccomp.json").read_text())
    assert json.loads(render_seccomp(model)) == guide


def test_seccomp_profile_is_compact_json_with_upstream_key_order() -> None:
    text = render_seccomp(read_document(_seed_document()).model)
    assert text.startswith('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["open","openat"')
    assert " " not in text


def test_the_rendered_seed_profile_passes_apparmor_parser() -> None:
    check = check_apparmor(render_apparmor(read_document(_seed_document()).model))
    assert check.checked, check.message
    assert check.ok, check.message


def test_armor_profile_model_carries_base64_profiles_under_seed_field_names() -> None:
    import base64

    model = read_document(_seed_document()).model
    apm = armor_profile_model(model, "varmor-cluster-varmor-demo-4")
    profile = apm["data"]["profile"]
    assert base64.b64decode(profile["content"]).decode() == render_apparmor(model)
    assert base64.b64decode(profile["seccompContent"]).decode() == render_seccomp(model)
    assert apm["metadata"] == {"name": "varmor-cluster-varmor-demo-4", "namespace": "varmor"}
    assert "/etc/shadow" in [f["path"] for f in apm["data"]["dynamicResult"]["apparmor"]["files"]]
