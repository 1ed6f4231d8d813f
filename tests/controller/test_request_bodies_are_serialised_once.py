"""The manager's API client sends plain-dict bodies as they are (no per-value walk), and still
turns typed models and dates into JSON like the ``kubernetes`` client does."""

from __future__ import annotations

import datetime
from typing import Any

from kubernetes import client

from controller.kube import PlainJsonApiClient


def test_a_plain_json_body_is_passed_through_unchanged() -> None:
    body = {"metadata": {"name": "m", "labels": None}, "data": {"files": [{"path": "/a", "owner": True}]}}
    assert PlainJsonApiClient().sanitize_for_serialization(body) is body


def test_typed_models_and_dates_are_still_converted_as_the_client_does() -> None:
    ours: Any = PlainJsonApiClient()
    theirs: Any = client.ApiClient()
    when = datetime.datetime(2026, 12, 2, 1, 0, tzinfo=datetime.UTC)
    body = {"event": client.CoreV1Event(metadata=client.V1ObjectMeta(name="e"),
                                        involved_object=client.V1ObjectReference(name="p")),
            "at": when, "list": [when]}
    assert ours.sanitize_for_serialization(body) == theirs.sanitize_for_serialization(body)
    assert ours.sanitize_for_serialization(body)["at"] == "2026-12-02T01:00:00+00:00"
    assert ours.sanitize_for_serialization("x") == "x"
