"""`wamesh migrate`: apply the database migrations to DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio

from wamesh.settings import Settings

HELP = "apply the database migrations (DATABASE_URL)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments."""
    del parser


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Apply and print what was applied."""
    from wamesh.db.migrate import migrate  # heavy; every role's command imports this module

    del args
    applied = asyncio.run(migrate(settings.require("database_url"), settings.database_schema))
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing to apply"
    print(f"migrations: {names}")
    return 0
