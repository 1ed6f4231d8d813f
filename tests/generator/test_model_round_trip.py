"""The model's wire format: JSON and YAML round trips lose nothing; inputs in every shape."""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from generator.apm import armor_profile_model, read_document
from generator.codec import from_data, to_data
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

DATA = pathlib.Path(__file__).parent / "data"
text = st.text(max_size=10)
tup = st.lists(text, max_size=3).map(tuple)
apparmor = st.builds(
    AppArmorResult, profiles=tup, executions=tup,
    files=st.lists(st.builds(FileRule, text, tup, st.booleans(), text), max_size=3).map(tuple),
    capabilities=tup, sockets=st.lists(st.builds(Socket, text, text, text), max_size=2).map(tuple),
    egresses=st.lists(st.builds(Egress, text, st.lists(st.integers(0, 65535), max_size=2).map(tuple)),
                      max_size=2).map(tuple),
    ptraces=st.lists(st.builds(Ptrace, text, tup, st.booleans()), max_size=2).map(tuple),
    signals=st.lists(st.builds(Signal, text, tup, tup), max_size=2).map(tuple),
    mounts=st.lists(st.builds(Mount, text, text, tup), max_size=2).map(tuple), unhandled=tup,
)
counts = st.integers(0, 10**6)
models = st.builds(
    BehaviorModel, apparmor=apparmor, syscalls=tup,
    coverage=st.lists(st.builds(Coverage, text, counts, counts, counts, counts,
                                st.lists(st.builds(DroppedRule, text, text, text), max_size=2).map(tuple),
                                tup), max_size=2).map(tuple),
    provenance=st.lists(st.builds(Provenance, text, text, text, text, text,
                                  st.floats(0, 2e9), st.floats(0, 2e9)), max_size=2).map(tuple),
    exec_only=st.builds(ExecOnly, tup, tup, tup, tup),
)


@given(models)
def test_json_round_trip_loses_nothing(model: BehaviorModel) -> None:
    assert from_data(json.loads(json.dumps(to_data(model)))) == model


@given(models)
def test_yaml_round_trip_loses_nothing(model: BehaviorModel) -> None:
    assert from_data(yaml.safe_load(yaml.safe_dump(to_data(model)))) == model


def test_whole_object_data_and_bare_dynamic_result_read_the_same() -> None:
    document = json.loads((DATA / "seed_demo4.model.json").read_text())
    whole = read_document(document)
    assert whole.name == "varmor-cluster-varmor-demo-4"
    assert read_document(document["data"]).model == whole.model
    assert read_document(document["data"]["dynamicResult"]).model == whole.model


def test_upstreams_later_app_armor_spelling_is_read() -> None:
    dynamic = {"appArmor": {"profiles": ["p"], "capabilities": ["sys_admin"]}}
    assert read_document(dynamic).model.apparmor.capabilities == ("sys_admin",)


def test_generated_object_reads_back_to_the_same_model() -> None:
    model = read_document(json.loads((DATA / "seed_demo4.model.json").read_text())).model
    apm = armor_profile_model(model, "varmor-cluster-varmor-demo-4")
    assert read_document(json.loads(json.dumps(apm))).model == model


@pytest.mark.parametrize("document", [[], {"kind": "Pod"}, {"data": {"other": 1}}])
def test_documents_without_a_model_are_rejected_with_a_reason(document: object) -> None:
    with pytest.raises(ValueError, match=r"expected a mapping|no dynamicResult"):
        read_document(document)  # type: ignore[arg-type]


def test_seed_field_names_are_kept() -> None:
    data = to_data(BehaviorModel(apparmor=AppArmorResult(
        files=(FileRule("/a", ("r",), True, "/b"),), sockets=(Socket("inet"),))))
    apparmor = data["dynamicResult"]["apparmor"]
    assert set(apparmor) >= {"profiles", "executions", "files", "capabilities", "networks", "ptraces",
                             "signals", "unhandled"}
    assert apparmor["files"] == [{"path": "/a", "owner": True, "permissions": ["r"], "oldPath": "/b"}]
    assert apparmor["networks"]["sockets"] == [{"domain": "inet", "type": "", "protocol": ""}]
    assert "syscalls" in data["dynamicResult"]["seccomp"]
