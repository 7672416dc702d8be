"""Plain SQL migrations, applied in order, recorded, idempotent and safe to run concurrently.

Files are `migrations/NNNN_name.sql`. A run applies every pending file, each with its row in
`wamesh_migrations`, in one transaction (all or nothing) that first takes a transaction-level
advisory lock and then reads what is applied, so concurrent runs queue up and the later ones find
nothing left to do. Nothing
outlives a transaction (no session-level lock, no prepared statement), so migrations run through a
transaction-mode pooler (PgBouncer, Supabase's port 6543) as well as on a direct connection. A file
changed after it was applied is refused (checksum).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from wamesh.constants import MIGRATION_LOCK_ID, MIGRATIONS_TABLE
from wamesh.errors import ConfigError

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    """One SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The packaged migration files, in version order."""
    folder = resources.files("wamesh.db") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


_CREATE_TABLE = sql.SQL(
    "CREATE TABLE IF NOT EXISTS {} (version integer PRIMARY KEY, name text NOT NULL, "
    "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
).format(sql.Identifier(MIGRATIONS_TABLE))


async def migrate(url: str) -> list[Migration]:
    """Apply every pending migration; return those applied by this call."""
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=None) as conn,
        conn.transaction(),
    ):
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        await conn.execute(_CREATE_TABLE)
        applied = await _applied(conn)
        return [m for m in load_migrations() if await _apply(conn, m, applied)]


async def _applied(conn: psycopg.AsyncConnection[tuple[int, str]]) -> dict[int, str]:
    query = sql.SQL("SELECT version, checksum FROM {}").format(sql.Identifier(MIGRATIONS_TABLE))
    cursor = await conn.execute(query)
    return {version: checksum for version, checksum in await cursor.fetchall()}


async def _apply(
    conn: psycopg.AsyncConnection[tuple[int, str]], migration: Migration, applied: dict[int, str]
) -> bool:
    """Apply `migration` in the caller's transaction unless it is applied already."""
    known = applied.get(migration.version)
    if known is not None:
        if known != migration.checksum:
            raise ConfigError(
                f"migration {migration.version:04d}_{migration.name}.sql changed after it was "
                "applied; add a new migration instead of editing an applied one"
            )
        return False
    insert = sql.SQL("INSERT INTO {} (version, name, checksum) VALUES (%s, %s, %s)").format(
        sql.Identifier(MIGRATIONS_TABLE)
    )
    await conn.execute(migration.sql.encode())
    await conn.execute(insert, (migration.version, migration.name, migration.checksum))
    _LOGGER.info("applied migration %04d_%s", migration.version, migration.name)
    return True
