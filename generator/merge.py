"""Merge of many reports (nodes, runs, sources) into one model: ``merge(*models)``.

A union with first-seen order (upstream §3.6); idempotent, so the same node's report fed
twice changes nothing. The semantics live in ``generator.union``.
"""

from __future__ import annotations

from generator.models import BehaviorModel
from generator.union import Union


def merge(*models: BehaviorModel) -> BehaviorModel:
    union = Union()
    for model in models:
        union.add_model(model)
    return union.build()
