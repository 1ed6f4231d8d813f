"""``python app.py validate``: check policies offline with the validating webhook's rules.

Each policy of ``--policy`` is validated as a CREATE, or as an UPDATE of the policy with the same
kind, namespace and name in ``--old``. Prints one verdict per policy; exits 1 when any is denied.

Examples:
    python app.py validate --policy vcpol.yaml
    python app.py validate --policy new.yaml --old current.yaml
"""

from __future__ import annotations

import argparse
import logging
import pathlib
from dataclasses import dataclass
from typing import Any

from api.names import DEFAULT_INSTALL_NAMESPACE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ValidateSettings:
    policy_file: pathlib.Path
    old_file: pathlib.Path | None
    install_namespace: str
    behavior_modeling_enabled: bool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=pathlib.Path, required=True, help="YAML of the policy to check")
    parser.add_argument("--old", type=pathlib.Path, help="YAML of the current policy (validates an update)")
    parser.add_argument("--namespace", default=DEFAULT_INSTALL_NAMESPACE,
                        help=f"install namespace (default {DEFAULT_INSTALL_NAMESPACE})")
    parser.add_argument("--disable-behavior-modeling", action="store_true",
                        help="validate as a manager started without BehaviorModeling")


def _key(policy: dict[str, Any]) -> tuple[str, str, str]:
    meta = policy["metadata"]
    return policy["kind"], str(meta.get("namespace") or ""), meta["name"]


def _label(policy: dict[str, Any]) -> str:
    kind, namespace, name = _key(policy)
    return f"{kind}/{namespace + '/' if namespace else ''}{name}"


def run(args: argparse.Namespace) -> int:
    from api.validation import ValidationOptions, validate_create, validate_update
    from webhook.policies import load_policy_documents

    settings = ValidateSettings(args.policy, args.old, args.namespace, not args.disable_behavior_modeling)
    options = ValidationOptions(settings.install_namespace, settings.behavior_modeling_enabled)
    try:
        new = load_policy_documents(settings.policy_file.read_text())
        old = load_policy_documents(settings.old_file.read_text()) if settings.old_file else []
    except (ValueError, OSError) as err:
        log.error("Could not read the policies: %s", err)
        return 2
    current = {_key(p): p for p in old}
    denied = 0
    for policy in new:
        before = current.get(_key(policy))
        message = validate_update(policy, before, options) if before else validate_create(policy, options)
        verdict = f"denied: {message}" if message else "allowed"
        print(f"{_label(policy)} ({'update' if before else 'create'}): {verdict}")
        denied += message is not None
    return 1 if denied else 0
