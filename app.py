"""varmor-py command line: one entry point, one sub-command per room.

Each sub-command lives in its package's ``cli`` module, which exposes
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported lazily, so
``generate`` never pays for ``bcc`` or ``kubernetes`` imports. Environment variables are
read here and nowhere below: they only supply defaults for flags.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Protocol, cast


class CommandModule(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("generator.cli", "Build a model from raw sources or render its profiles"),
    "tracer": ("tracer.cli", "Run the eBPF tracer (JSON lines on stdout)"),
    "agent": ("agent.cli", "Run the node agent: install profiles, record modeling windows, report"),
    "model": ("agent.localmode", "Model one command or a running cgroup/pid locally"),
    "verify": ("agent.verifying", "Run a command under a generated seccomp profile"),
    "webhook": ("webhook.cli", "Serve the mutating and validating webhooks over TLS"),
    "manager": ("manager.cli", "Run the manager: webhook, policy controllers and status service"),
    "mutate": ("webhook.cli_mutate", "Preview the mutation of workloads offline"),
    "validate": ("webhook.cli_validate", "Validate a policy offline"),
    "localcluster": ("localcluster.cli", "Run the embedded single-machine Kubernetes cluster"),
    "advise": ("generator.advise_cli", "Advise built-in rules and a least-privilege securityContext"),
    "demo": ("localcluster.guide", "Play the user guide's BehaviorModeling scenario on the local cluster"),
    "demo-local": ("agent.demo", "Model the shipped demo workload locally and print its profiles"),
    "predelete": ("controller.predelete", "Delete every policy before an uninstall (Helm pre-delete hook)"),
}


def _available() -> dict[str, tuple[str, str]]:
    here = os.path.dirname(os.path.abspath(__file__))
    found = {}
    for name, (module, text) in COMMANDS.items():
        path = os.path.join(here, *module.split(".")) + ".py"
        if os.path.exists(path):
            found[name] = (module, text)
    return found


def build_parser(commands: dict[str, tuple[str, str]]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="app.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log-level",
        default=os.environ.get("VARMOR_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (env VARMOR_LOG_LEVEL)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, text) in commands.items():
        child = sub.add_parser(name, help=text, description=text)
        child.set_defaults(_module=module)
        _load(module).add_arguments(child)
    return parser


def _load(module: str) -> CommandModule:
    return cast(CommandModule, importlib.import_module(module))


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; everything after the first ``--`` is the command to run (``args.cmd``).

    Splitting first keeps options such as ``-c CONTAINER`` usable between positionals and the
    command, which argparse's REMAINDER alone would swallow.
    """
    argv = list(argv)
    if "--" not in argv:
        return parser.parse_args(argv)
    split = argv.index("--")
    args = parser.parse_args(argv[:split])
    if not hasattr(args, "cmd"):
        parser.error(f"{args.command} takes no command after --")
    args.cmd = argv[split:]
    return args


def _named(commands: dict[str, tuple[str, str]], argv: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Only the command named on the line (its module alone is imported: the tracer, started
    often, does not wait for the others' imports); every command when none is named."""
    name = next((a for a in argv if a == "--" or a in commands), None)
    return {name: commands[name]} if name in commands else commands


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_named(_available(), argv))
    args = parse(parser, argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname).1s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return _load(args._module).run(args)


if __name__ == "__main__":
    sys.exit(main())
