"""The `wamesh` command: one subcommand per role.

Each subcommand lives in its own module and is registered in `_COMMANDS`; a subcommand reads
`Settings` once, so a bad variable stops it before anything starts, with a message naming it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wamesh import logs
from wamesh.errors import WameshError
from wamesh.settings import Settings


@dataclass(frozen=True)
class Command:
    """A subcommand: its help, its arguments and what it runs."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings], int]


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def _run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from wamesh.db.migrate import migrate

    del args
    applied = asyncio.run(migrate(settings.require("database_url")))
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing to apply"
    print(f"migrations: {names}")
    return 0


_COMMANDS: dict[str, Command] = {
    "migrate": Command("apply the database migrations (DATABASE_URL)", _no_arguments, _run_migrate),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="wamesh", description="Run many WhatsApp lines at once.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in _COMMANDS.items():
        command.add_arguments(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        logs.configure(settings.log_level, settings.log_format)
        code = _COMMANDS[args.command].run(args, settings)
    except WameshError as exc:
        print(f"wamesh {args.command}: {exc.message}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
