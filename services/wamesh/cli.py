"""The `wamesh` command: one subcommand per role.

Each subcommand lives in its role's `cli` module, which defines `HELP`, `add_arguments(parser)`
and `run(args, settings) -> int` and imports its heavy dependencies inside `run`. A command line
that names a subcommand loads that role's module only (a session worker's start-up is counted:
README, "Budgets"); `wamesh`, `wamesh --help` or an unknown name load them all, to list them.
`Settings` is read once, so a bad variable stops the command before anything starts, with a
message naming it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from wamesh.process import no_collection_while_starting

if TYPE_CHECKING:
    import argparse

_COMMANDS: dict[str, str] = {
    "migrate": "wamesh.db.cli",
    "import-lines": "wamesh.db.import_cli",
    "session": "wamesh.session.cli",
    "worker": "wamesh.webhooks.cli",
    "gateway": "wamesh.gateway.cli",
    "dev": "wamesh.dev.cli",
}


def _available(argv: Sequence[str]) -> dict[str, ModuleType]:
    """The subcommand `argv` names, or all whose role is part of this build (in declaration
    order) when it names none of them or that role is not in this build."""
    if argv and argv[0] in _COMMANDS:
        found = _importable({argv[0]: _COMMANDS[argv[0]]})
        if found:
            return found
    return _importable(_COMMANDS)


def _importable(commands: dict[str, str]) -> dict[str, ModuleType]:
    found = {}
    for name, module in commands.items():
        try:
            found[name] = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (module + ".").startswith(exc.name + "."):
                raise
    return found


def build_parser(commands: dict[str, ModuleType]) -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    import argparse  # loaded with the commands' modules already (they use it)

    parser = argparse.ArgumentParser(prog="wamesh", description="Run many WhatsApp lines at once.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in commands.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    argv = sys.argv[1:] if argv is None else argv
    # Everything the command loads before it runs, with the collector off (wamesh.process):
    # its passes over a start-up's imports were about a tenth of their CPU.
    with no_collection_while_starting():
        from wamesh import logs
        from wamesh.errors import WameshError
        from wamesh.settings import Settings

        commands = _available(argv)
    args = build_parser(commands).parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        logs.configure(settings.log_level, settings.log_format)
        code = int(commands[args.command].run(args, settings))
    except WameshError as exc:
        print(f"wamesh {args.command}: {exc.message}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
