"""Where VarmorPolicy / VarmorClusterPolicy objects come from.

``PolicySource`` is the port: the manager feeds it from a watch; ``FilePolicySource`` reads
YAML files (one or more documents), ``StaticPolicySource`` holds a list. Objects stay plain dicts
(never re-serialised); ``api.types.view`` extracts what matching needs.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import yaml

from api.names import POLICY_KINDS


class PolicySource(Protocol):
    """Where policies come from: every current VarmorPolicy and VarmorClusterPolicy as a dict."""

    def policies(self) -> list[dict[str, Any]]: ...


class StaticPolicySource:
    """A ``PolicySource`` over a list the owner replaces as a whole (e.g. from a watch)."""

    def __init__(self, policies: Iterable[dict[str, Any]] = ()) -> None:
        self._policies = list(policies)

    def policies(self) -> list[dict[str, Any]]:
        return self._policies

    def replace(self, policies: Iterable[dict[str, Any]]) -> None:
        self._policies = list(policies)


def load_policy_documents(text: str) -> list[dict[str, Any]]:
    """The VarmorPolicy / VarmorClusterPolicy documents of a YAML stream; raises ValueError otherwise."""
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    for number, doc in enumerate(documents, 1):
        if not isinstance(doc, dict) or doc.get("kind") not in POLICY_KINDS:
            raise ValueError(f"document {number} is not a VarmorPolicy or VarmorClusterPolicy")
        if not isinstance(doc.get("metadata"), dict) or not isinstance(doc["metadata"].get("name"), str):
            raise ValueError(f"document {number} has no metadata.name")
    return documents


class FilePolicySource:
    """A ``PolicySource`` read from YAML files at construction; ``reload`` reads them again."""

    def __init__(self, paths: Sequence[pathlib.Path]) -> None:
        self.paths = tuple(paths)
        self._policies: list[dict[str, Any]] = []
        self.reload()

    def reload(self) -> None:
        policies: list[dict[str, Any]] = []
        for path in self.paths:
            try:
                policies += load_policy_documents(path.read_text())
            except (ValueError, yaml.YAMLError) as err:
                raise ValueError(f"{path}: {err}") from err
        self._policies = policies

    def policies(self) -> list[dict[str, Any]]:
        return self._policies
