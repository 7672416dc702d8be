"""Bring the original Node bot's lines into wamesh, keeping their ids (`wamesh import-lines`).

The bot kept its lines in its own `public.sessions`; its session workers were started with
`SESSION_ID=<that row's id>`. Each row becomes a wamesh line with the same id, so a deployment's
`SESSION_ID`s stay what they were; its `name`, `webhook_url` and `webhook_secret` come along where
the table has them. The bot's table is read (every column through `to_jsonb`, so a column it lacks
is simply absent) and never changed. A line whose id wamesh has already is left as it is, so the
import can run again: it only adds the lines that are new.

What wamesh cannot take as it is, it says, per line id, without ever showing a secret: an id that is
not a UUID (the line is skipped), a `webhook_url` that is not an absolute http(s) URL without
credentials (dropped), a `webhook_secret` that is not a Standard Webhooks `whsec_` secret (a new
one is generated; `POST /v1/sessions/{id}/webhook-secret` rotates and shows one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from wamesh.constants import DB_SCHEMA_DEFAULT, MAX_NAME_LENGTH
from wamesh.db.pool import connection_kwargs
from wamesh.errors import ConfigError, InvalidInput
from wamesh.ids import as_uuid
from wamesh.lines import check_secret, check_webhook_url
from wamesh.webhooks.signing import generate_secret

DEFAULT_SOURCE = "public.sessions"
_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_READ = "SELECT to_jsonb(b) FROM {} b"
_INSERT = """
INSERT INTO wamesh.sessions (id, name, engine, webhook_url, webhook_secret)
SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[])
ON CONFLICT (id) DO NOTHING
RETURNING id::text
"""


@dataclass
class Imported:
    """What an import did, by line id (never a secret)."""

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # ids that are not UUIDs
    url_dropped: list[str] = field(default_factory=list)
    new_secret: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Line:
    id: str
    name: str
    webhook_url: str | None
    webhook_secret: str


def source_table(raw: str) -> sql.Identifier:
    """`schema.table` (or `table`, in public) as a quoted name; ConfigError when malformed."""
    parts = raw.strip().split(".")
    if len(parts) == 1:
        parts.insert(0, "public")
    if len(parts) != 2 or not all(_PART.fullmatch(p) for p in parts):
        raise ConfigError(f"--from {raw!r}: expected a table name such as {DEFAULT_SOURCE}")
    return sql.Identifier(*parts)


def convert(row: Mapping[str, Any], done: Imported) -> _Line | None:
    """One row of the bot's table as a line (None: its id is not a UUID); notes what changed."""
    line_id = as_uuid(str(row.get("id", "")))
    if line_id is None:
        done.skipped.append(str(row.get("id")))
        return None
    name = str(row.get("name") or "").strip()[:MAX_NAME_LENGTH] or f"line {line_id[:8]}"
    return _Line(line_id, name, _webhook_url(row, line_id, done), _secret(row, line_id, done))


def _webhook_url(row: Mapping[str, Any], line_id: str, done: Imported) -> str | None:
    raw = row.get("webhook_url")
    if not raw:
        return None
    try:
        return check_webhook_url(str(raw))
    except InvalidInput:
        done.url_dropped.append(line_id)
        return None


def _secret(row: Mapping[str, Any], line_id: str, done: Imported) -> str:
    raw = row.get("webhook_secret")
    try:
        return check_secret(str(raw)) if raw else generate_secret()
    except InvalidInput:
        done.new_secret.append(line_id)
        return generate_secret()


async def import_lines(
    url: str,
    source: str = DEFAULT_SOURCE,
    engine: str = "browser",
    schema: str = DB_SCHEMA_DEFAULT,
) -> Imported:
    """Copy the lines of `source` into `sessions` of wamesh's `schema` (one transaction)."""
    table = source_table(source)
    done = Imported()
    async with (
        await psycopg.AsyncConnection.connect(
            url, **connection_kwargs(prepare=False, schema=schema)
        ) as conn,
        conn.transaction(),
    ):
        try:
            cursor = await conn.execute(sql.SQL(_READ).format(table))
        except psycopg.errors.UndefinedTable:
            raise ConfigError(f"no table {source} to import lines from") from None
        lines = [line for (row,) in await cursor.fetchall() if (line := convert(row, done))]
        try:
            cursor = await conn.execute(_INSERT, _columns(lines, engine))
        except psycopg.errors.UndefinedTable:
            raise ConfigError("wamesh's tables are missing: run `wamesh migrate` first") from None
        added = {row[0] for row in await cursor.fetchall()}
    done.added = [line.id for line in lines if line.id in added]
    done.present = [line.id for line in lines if line.id not in added]
    done.new_secret = [i for i in done.new_secret if i in added]
    done.url_dropped = [i for i in done.url_dropped if i in added]
    return done


def _columns(lines: list[_Line], engine: str) -> tuple[list[str | None], ...]:
    """The lines as one array per column of `_INSERT`."""
    return (
        [line.id for line in lines],
        [line.name for line in lines],
        [engine] * len(lines),
        [line.webhook_url for line in lines],
        [line.webhook_secret for line in lines],
    )
