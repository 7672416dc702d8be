"""Show the QR code of every line waiting for a scan in the terminal (`wamesh dev`)."""

from __future__ import annotations

import asyncio
import io
import sys

import psycopg
import segno

from wamesh.constants import DB_SCHEMA_DEFAULT
from wamesh.db.pool import cursor_class

POLL_S = 1.0


def render_terminal_qr(code: str) -> str:
    """A QR code drawn with block characters."""
    out = io.StringIO()
    segno.make_qr(code, error="l").terminal(out=out, compact=True, border=1)
    return out.getvalue()


async def show_qr_codes(database_url: str, schema: str = DB_SCHEMA_DEFAULT) -> None:
    """Print each new QR code (polling `sessions`; QR rotations change no status to NOTIFY on)."""
    shown: dict[str, str] = {}
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                database_url, autocommit=True, cursor_factory=cursor_class(schema)
            ) as conn:
                while True:
                    cursor = await conn.execute(
                        "SELECT id::text, name, qr FROM wamesh.sessions WHERE status = 'qr'"
                    )
                    for line, name, qr in await cursor.fetchall():
                        if qr and shown.get(line) != qr:
                            shown[line] = qr
                            heading = f"\nline {name} ({line}) waiting for a scan:\n"
                            sys.stdout.write(heading + render_terminal_qr(qr))
                            sys.stdout.flush()
                    await asyncio.sleep(POLL_S)
        except psycopg.OperationalError:
            await asyncio.sleep(POLL_S)
