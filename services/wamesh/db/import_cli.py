"""`wamesh import-lines`: take the original Node bot's lines (public.sessions) into wamesh."""

from __future__ import annotations

import argparse
import asyncio

from wamesh.constants import ENGINES
from wamesh.settings import Settings

HELP = "import the original bot's lines from public.sessions, keeping their ids (DATABASE_URL)"
_SHOWN = 20  # ids listed per kind of note


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--from and --engine."""
    parser.add_argument(
        "--from",
        dest="source",
        default="public.sessions",
        metavar="TABLE",
        help="the bot's table (default public.sessions); read, never changed",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="browser",
        help="engine of the imported lines (default browser: Chromium on WhatsApp Web, as the "
        "bot's whatsapp-web.js)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Import and print what was done, by line id."""
    from wamesh.db.import_lines import import_lines  # heavy; every command imports this module

    url = settings.require("database_url")
    done = asyncio.run(import_lines(url, args.source, args.engine, settings.database_schema))
    print(
        f"lines: {len(done.added)} imported, {len(done.present)} already in wamesh, "
        f"{len(done.skipped)} skipped"
    )
    notes = (
        ("skipped, id is not a UUID", done.skipped),
        ("webhook_url dropped, not an absolute http(s) URL without credentials", done.url_dropped),
        (
            "new webhook secret, the bot's is not a whsec_ secret "
            "(POST /v1/sessions/{id}/webhook-secret shows a new one)",
            done.new_secret,
        ),
    )
    for what, ids in notes:
        if ids:
            more = f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
            print(f"{what}: {', '.join(ids[:_SHOWN])}{more}")
    return 0
