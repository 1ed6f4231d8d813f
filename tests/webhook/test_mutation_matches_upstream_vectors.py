"""Golden vectors of upstream ``Test_buildPatch``: our patch gives the object upstream's patch gives.

Each ``golden/build_patch/*.json`` holds the input, upstream's JSONPatch (timestamp ``TIME_STRING``)
and the expected object: upstream's ops applied in upstream's order, ``replace`` of a missing key
acting as ``add`` as the API server's patch library does (spec §2.3).
"""

from __future__ import annotations

import datetime
import json
import pathlib
from typing import Any

import jsonpatch
import pytest

from tests.webhook.helpers import GOLDEN, applied, patch_of, review
from webhook.mutating import MutationOptions, mutate_request
from webhook.reviews import parse_review

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
VECTORS = sorted((GOLDEN / "build_patch").glob("*.json"))


def _policy(vector: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorPolicy",
        "metadata": {"name": "test", "namespace": "testns"},
        "spec": {
            "target": vector["target"],
            "policy": {"enforcer": vector["enforcer"], "mode": vector["mode"]},
        },
    }


def _respond(vector: dict[str, Any]) -> Any:
    options = MutationOptions(apparmor_ga=vector["apparmorGA"], bpf_exclusive_mode=vector["bpfExclusiveMode"])
    body = json.dumps(review(vector["object"], vector["kind"], "testns")).encode()
    return mutate_request(parse_review(body), [_policy(vector)], options, NOW)


def test_every_upstream_vector_is_here() -> None:
    assert len(VECTORS) == 28


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_the_patch_yields_the_object_upstream_yields(path: pathlib.Path) -> None:
    vector = json.loads(path.read_text())
    response = _respond(vector)
    assert response["allowed"] is True
    if vector["expected"] is None:
        assert "patch" not in response and "patchType" not in response
        return
    assert applied(vector["object"], response) == vector["expected"]


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_the_golden_expectation_is_upstreams_patch_applied_in_order(path: pathlib.Path) -> None:
    vector = json.loads(path.read_text())
    ops = [dict(op, op="add" if op["op"] == "replace" else op["op"]) for op in vector["upstreamPatch"]]
    for op in ops:
        if op["value"] == "TIME_STRING":
            op["value"] = "2026-01-02T03:04:05Z"
    expected = jsonpatch.apply_patch(vector["object"], ops) if ops else None
    assert expected == vector["expected"]


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_every_operation_applies_in_order_to_the_original(path: pathlib.Path) -> None:
    vector = json.loads(path.read_text())
    document = vector["object"]
    for op in patch_of(_respond(vector)):
        document = jsonpatch.apply_patch(document, [op])  # raises if an op needs a later one
    assert document == (vector["expected"] or vector["object"])
