"""``python app.py advise``: built-in hardening rules and a least-privilege securityContext.

Reads the model exactly as ``generate --model`` does (a whole ArmorProfileModel, its data, or a
bare dynamicResult; JSON or YAML; ``-`` for stdin), runs ``generator.advising`` and
``generator.least_privilege``, and prints with ``generator.advice_output``.

Examples:
    python app.py advise --model model.json
    kubectl get ArmorProfileModel -n varmor varmor-cluster-varmor-demo-4 -o yaml \\
        | python app.py advise --model - --enforcers AppArmor,Seccomp -o yaml | kubectl apply -f -
    python app.py advise --enforcers AppArmor,BPF --features share-containers-pid-ns --capabilities sys_admin
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, cast

from generator.advice_output import advice_document, identity, policy_yaml, table
from generator.advising import ENFORCER_NAMES, Facts, decide, template
from generator.apm import read_document
from generator.builtin_rules import FEATURES, Enforcer
from generator.capabilities import CAPABILITIES
from generator.cli import UsageError, load_document
from generator.least_privilege import container_contexts
from generator.models import BehaviorModel
from generator.render import render_seccomp

NAMES = {name.lower(): key for key, name in ENFORCER_NAMES.items()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("Examples:")[1]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--model", metavar="FILE",
                        help="ArmorProfileModel, its data, or a dynamicResult (JSON or YAML; - for stdin)")
    parser.add_argument("--enforcers", default="AppArmor,BPF,Seccomp",
                        help="enforcers available on the nodes (default: AppArmor,BPF,Seccomp)")
    parser.add_argument("--features", default="", help=f"declared features: {', '.join(FEATURES)}")
    parser.add_argument("--capabilities", default="", help="declared capabilities, e.g. sys_admin,net_admin")
    parser.add_argument("--volumes", default="", metavar="PATH,...",
                        help="paths the workload mounts as volumes (writes there keep the root read-only)")
    parser.add_argument("--name", default="", help="policy name (default: from the model's profile name)")
    parser.add_argument("--target", default="", metavar="KIND/NAME",
                        help="policy target (default: Deployment/<policy name>)")
    parser.add_argument("-o", "--output", choices=["table", "json", "yaml"], default="table",
                        help="table for people (default), json for tools, yaml: the policy to apply")


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def facts(args: argparse.Namespace) -> Facts:
    enforcers = []
    for item in _items(args.enforcers):
        if item.lower() not in NAMES:
            raise UsageError(f"--enforcers: unknown enforcer {item!r} (use AppArmor, BPF, Seccomp)")
        enforcers.append(NAMES[item.lower()])
    features = [f.lower() for f in _items(args.features)]
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise UsageError(f"--features: unknown feature {unknown[0]!r} (use {', '.join(FEATURES)})")
    capabilities = [c.lower().removeprefix("cap_") for c in _items(args.capabilities)]
    wrong = [c for c in capabilities if c not in CAPABILITIES]
    if wrong:
        raise UsageError(f"--capabilities: unknown capability {wrong[0]!r}")
    if not enforcers:
        raise UsageError("--enforcers: give at least one of AppArmor, BPF, Seccomp")
    ordered = [e for e in cast(tuple[Enforcer, ...], tuple(ENFORCER_NAMES)) if e in enforcers]
    return Facts(tuple(ordered), tuple(sorted(set(features))), tuple(sorted(set(capabilities))))


def _model(path: str | None) -> tuple[BehaviorModel | None, str, str]:
    """(model, profile name, namespace) of the --model file."""
    if path is None:
        return None, "", "varmor"
    raw = load_document(path)
    try:
        document = read_document(raw)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise UsageError(f"{path} is not a usable model: {error}") from error
    metadata: Any = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    return document.model, document.name or "", str(metadata.get("namespace") or "varmor")


def advise(args: argparse.Namespace) -> str:
    declared = facts(args)
    model, profile_name, namespace = _model(args.model)
    if args.output != "table" and not (args.name or profile_name):
        raise UsageError("give --name: the model carries no profile name")
    who = identity(profile_name or args.name or "advised", namespace, args.name, args.target)
    if args.target and not (who.target["kind"] and who.target["name"]):
        raise UsageError(f"--target {args.target!r}: expected KIND/NAME, e.g. Deployment/demo-4")
    decisions = decide(declared, model)
    policy = template(decisions, declared)
    contexts = container_contexts(model, profile_name, _items(args.volumes)) if model is not None else ()
    if args.output == "yaml":
        return policy_yaml(policy, who, decisions, contexts)
    if args.output == "json":
        seccomp = render_seccomp(model) if model is not None else ""
        return json.dumps(advice_document(policy, who, decisions, contexts, seccomp), indent=2) + "\n"
    return table(policy, decisions, contexts)


def run(args: argparse.Namespace) -> int:
    try:
        text = advise(args)
    except UsageError as error:
        # one line, even when the YAML parser's message spans several
        print("error: " + " ".join(str(error).split()), file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0

