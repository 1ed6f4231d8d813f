"""``python app.py generate ...``: build a model from raw sources, or render a model's profiles.

Examples:
    python app.py generate apparmor --model model.json
    kubectl get ArmorProfileModel -n varmor NAME -o yaml | python app.py generate seccomp --model -
    python app.py generate model --name varmor-demo-app --events trace.ndjson --audit-log /var/log/kern.log
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import yaml

from generator.aggregate import Options, model_from_events
from generator.apm import armor_profile_model, incompleteness, read_document
from generator.checking import check_apparmor
from generator.merge import merge
from generator.models import BehaviorModel
from generator.patterns import check_name
from generator.render import RenderError, render_apparmor, render_seccomp


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("Examples:")[1]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="what", required=True, metavar="WHAT")
    for what, text in (("apparmor", "Print the AppArmor profile of a model"),
                       ("seccomp", "Print the seccomp profile of a model")):
        child = sub.add_parser(what, help=text, description=text)
        child.add_argument("--model", required=True, metavar="FILE",
                           help="ArmorProfileModel, its data, or a dynamicResult (JSON or YAML; - for stdin)")
        child.add_argument("--name", help="profile name (default: the model's)")
    child = sub.add_parser("model", help="Build an ArmorProfileModel from raw sources")
    child.add_argument("--name", required=True, help="profile name, e.g. varmor-cluster-varmor-demo-4")
    child.add_argument("--namespace", default="varmor", help="namespace of the object (default: varmor)")
    child.add_argument("--events", action="append", default=[], metavar="F.ndjson",
                       help="tracer events, schema v1 (repeatable; - for stdin)")
    child.add_argument("--audit-log", action="append", default=[], metavar="F",
                       help="kern.log/syslog or auditd log with AppArmor and seccomp records (repeatable)")
    child.add_argument("--pid", action="append", type=int, default=[],
                       help="attribute seccomp records of this pid (repeatable)")
    child.add_argument("--node", default="", help="node name recorded in coverage")
    child.add_argument("-o", "--output", choices=["json", "yaml"], default="json")


def _open(path: str) -> TextIO:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8", errors="surrogateescape")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error


def load_document(path: str) -> Any:
    with _open(path) as handle:
        text = handle.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UsageError(f"{path} is neither JSON nor YAML: {error}") from error


def _events(path: str) -> Iterator[dict[str, Any]]:
    with _open(path) as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = {}
            yield event if isinstance(event, dict) else {}


def build_model(args: argparse.Namespace) -> BehaviorModel:
    options = Options(node=args.node)
    models = [model_from_events(args.name, _events(path), options) for path in args.events]
    if args.audit_log:
        from generator.auditlogs import events_from_audit_lines

        for path in args.audit_log:
            with _open(path) as handle:
                events = events_from_audit_lines(handle, args.name, args.pid)
                models.append(model_from_events(args.name, events, options))
    if not models:
        raise UsageError("give at least one --events or --audit-log source")
    return merge(*models)


def _render(args: argparse.Namespace, out: TextIO) -> None:
    try:
        document = read_document(load_document(args.model))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise UsageError(f"{args.model} is not a usable model: {error}") from error
    name = args.name or document.name
    try:
        if args.what == "seccomp":
            text = render_seccomp(document.model)
            if not text:
                raise UsageError("the model has no syscalls: no seccomp profile")
            out.write(json.dumps(json.loads(text), indent=2) + "\n")
            return
        text = render_apparmor(document.model, name)
    except RenderError as error:
        raise UsageError(str(error)) from error
    _check(text)
    out.write(text)


def _check(profile: str) -> None:
    check = check_apparmor(profile)
    if not check.ok:
        raise UsageError(f"apparmor_parser rejected the generated profile: {check.message}")
    if not check.checked:
        print(f"warning: {check.message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        if args.what == "model":
            reason = check_name(args.name)
            if reason is not None:
                raise UsageError(f"--name {args.name!r}: {reason}")
            model = build_model(args)
            _check(render_apparmor(model, args.name))
            apm = armor_profile_model(model, args.name, args.namespace)
            if (warning := incompleteness(model)) is not None:
                print(f"warning: {warning}", file=sys.stderr)
            if args.output == "yaml":
                yaml.safe_dump(apm, sys.stdout, sort_keys=False)
            else:
                sys.stdout.write(json.dumps(apm, indent=2) + "\n")
        else:
            _render(args, sys.stdout)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
