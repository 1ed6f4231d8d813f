"""``python app.py mutate``: preview offline what the mutating webhook does to workloads.

Prints every object of ``-f`` as YAML, mutated when a policy of ``--policy`` selects it, so CI
pipelines and users choosing a policy see the exact annotations and securityContext.

Examples:
    python app.py mutate --policy vcpol.yaml -f deployment.yaml
    kubectl get deploy -n demo demo-4 -o yaml | python app.py mutate --policy vcpol.yaml -f - \
        --kubernetes-version 1.29
"""

from __future__ import annotations

import argparse
import logging
import pathlib
import sys
from dataclasses import dataclass
from typing import Any

from api.names import DEFAULT_INSTALL_NAMESPACE, VARMOR_POLICY

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MutateSettings:
    policy_files: tuple[pathlib.Path, ...]
    object_files: tuple[str, ...]
    kubernetes_version: str
    install_namespace: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=pathlib.Path, action="append", required=True,
                        help="YAML with VarmorPolicy/VarmorClusterPolicy documents (repeatable)")
    parser.add_argument("-f", "--filename", action="append", required=True,
                        help="YAML of Deployments, StatefulSets, DaemonSets or Pods; - for stdin")
    parser.add_argument("--kubernetes-version", default="1.30", help="target cluster version (default 1.30)")
    parser.add_argument("--namespace", default=DEFAULT_INSTALL_NAMESPACE,
                        help=f"install namespace (default {DEFAULT_INSTALL_NAMESPACE})")


def _read(name: str) -> str:
    return sys.stdin.read() if name == "-" else pathlib.Path(name).read_text()


def _objects(files: tuple[str, ...]) -> list[dict[str, Any]]:
    import yaml

    objects: list[dict[str, Any]] = []
    for name in files:
        for doc in yaml.safe_load_all(_read(name)):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise ValueError(f"{name}: a document is not a Kubernetes object")
            if doc.get("kind") == "List":
                objects += [item for item in doc.get("items") or [] if isinstance(item, dict)]
            else:
                objects.append(doc)
    return objects


def _check_namespaces(policies: list[dict[str, Any]]) -> None:
    """A VarmorPolicy is namespaced: without ``metadata.namespace`` it could select nothing."""
    for policy in policies:
        if policy.get("kind") == VARMOR_POLICY and not (policy.get("metadata") or {}).get("namespace"):
            raise ValueError(f"VarmorPolicy {policy['metadata']['name']} has no metadata.namespace; "
                             "a VarmorPolicy only selects objects of its own namespace")


def run(args: argparse.Namespace) -> int:
    import datetime

    import yaml

    from webhook.mutating import MutationOptions, mutate_object
    from webhook.policies import FilePolicySource
    from webhook.settings import apparmor_ga

    settings = MutateSettings(
        tuple(args.policy), tuple(args.filename), args.kubernetes_version, args.namespace
    )
    try:
        options = MutationOptions(settings.install_namespace, apparmor_ga(settings.kubernetes_version))
        policies = FilePolicySource(settings.policy_files).policies()
        _check_namespaces(policies)
        objects = _objects(settings.object_files)
    except (ValueError, OSError, yaml.YAMLError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    now, results = datetime.datetime.now(datetime.UTC), []
    for obj in objects:
        meta: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
        namespace = str(meta.get("namespace") or "default")
        mutated = mutate_object(str(obj.get("kind")), namespace, obj, policies, options, now)
        log.info("%s object kind=%s namespace=%s name=%s", "Mutated" if mutated else "Left",
                 obj.get("kind"), namespace, meta.get("name"))
        results.append(mutated or obj)
    sys.stdout.write(yaml.safe_dump_all(results, sort_keys=False))
    return 0
