"""Plain SQL migrations, applied in order, recorded, idempotent and safe to run concurrently.

Files are `migrations/NNNN_name.sql`. A run creates wamesh's schema (WAMESH_DB_SCHEMA, see
wamesh.db.schema) when it is missing and applies every pending file, each with its row in the
schema's `wamesh_migrations`, in one transaction (all or nothing) that first takes a
transaction-level advisory lock and then reads what is applied, so concurrent runs queue up and
the later ones find nothing left to do. Nothing outlives a transaction (no session-level lock or
setting, no prepared statement), so migrations run through a transaction-mode pooler
(PgBouncer, Supabase's port 6543) as well as on a direct connection. A file changed after it was
applied is refused (checksum).

Files from 0009 on name every object with its schema (`wamesh.sessions`) and run with an empty
`search_path`, so a name without its schema is an error instead of a table in `public`. Files
0001-0008 were written before the schema existed, with bare names: they run with `SET LOCAL
search_path` to the schema (a new install), or to `public` for an install made before 0009, whose
tables 0009 then moves into the schema. Such an install is recognised by its ledger:
`public.wamesh_migrations` holding 0001, which the run moves into the schema first. Anything
else in `public` (the original Node bot's `sessions`) is never touched.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from wamesh.constants import DB_SCHEMA_DEFAULT, LEGACY_SCHEMA, MIGRATION_LOCK_ID
from wamesh.db.schema import qualify, schema_name
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


QUALIFIED_FROM = 9  # the first file that names its schema (0009_own_schema.sql)
_CREATE_SCHEMA = "CREATE SCHEMA IF NOT EXISTS wamesh"
_CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS wamesh.wamesh_migrations (version integer PRIMARY KEY, "
    "name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
)
_LEGACY_LEDGER = f"""
SELECT to_regclass('wamesh.wamesh_migrations') IS NULL
   AND to_regclass('{LEGACY_SCHEMA}.wamesh_migrations') IS NOT NULL AS found
"""
_LEGACY_ONE = f"SELECT EXISTS (SELECT FROM {LEGACY_SCHEMA}.wamesh_migrations WHERE version = 1)"
_ADOPT_LEDGER = f"ALTER TABLE {LEGACY_SCHEMA}.wamesh_migrations SET SCHEMA wamesh"
_READ_LEDGER = "SELECT version, checksum FROM wamesh.wamesh_migrations"
_RECORD = "INSERT INTO wamesh.wamesh_migrations (version, name, checksum) VALUES (%s, %s, %s)"
_SEARCH_PATH = "SELECT set_config('search_path', %s, true)"  # this transaction only

Conn = psycopg.AsyncConnection[tuple[Any, ...]]


async def migrate(url: str, schema: str = DB_SCHEMA_DEFAULT) -> list[Migration]:
    """Apply every pending migration in `schema`; return those applied by this call."""
    name = schema_name(schema)
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=None) as conn,
        conn.transaction(),
    ):
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        await conn.execute(qualify(_CREATE_SCHEMA, name))
        legacy = await _adopt_legacy_ledger(conn, name)
        await conn.execute(qualify(_CREATE_LEDGER, name))
        applied = await _applied(conn, name)
        home = LEGACY_SCHEMA if legacy else name
        return [m for m in load_migrations() if await _apply(conn, m, applied, name, home)]


async def _adopt_legacy_ledger(conn: Conn, schema: str) -> bool:
    """Move an install's ledger from `public` into `schema` when it is ours; whether it was."""
    cursor = await conn.execute(qualify(_LEGACY_LEDGER, schema))
    row = await cursor.fetchone()
    if not (row and row[0]):
        return False
    cursor = await conn.execute(_LEGACY_ONE)
    row = await cursor.fetchone()
    if not (row and row[0]):
        return False
    await conn.execute(qualify(_ADOPT_LEDGER, schema))
    _LOGGER.info("moving the wamesh install in %s into schema %s", LEGACY_SCHEMA, schema)
    return True


async def _applied(conn: Conn, schema: str) -> dict[int, str]:
    cursor = await conn.execute(qualify(_READ_LEDGER, schema))
    return {version: checksum for version, checksum in await cursor.fetchall()}


async def _apply(
    conn: Conn, migration: Migration, applied: dict[int, str], schema: str, home: str
) -> bool:
    """Apply `migration` in the caller's transaction unless it is applied already.

    A file before QUALIFIED_FROM runs with its bare names in `home`; a later one with no
    search_path at all (it names its schema)."""
    known = applied.get(migration.version)
    if known is not None:
        if known != migration.checksum:
            raise ConfigError(
                f"migration {migration.version:04d}_{migration.name}.sql changed after it was "
                "applied; add a new migration instead of editing an applied one"
            )
        return False
    path = f'"{home}"' if migration.version < QUALIFIED_FROM else ""
    await conn.execute(_SEARCH_PATH, (path,))
    await conn.execute(qualify(migration.sql, schema).encode())
    await conn.execute(
        qualify(_RECORD, schema), (migration.version, migration.name, migration.checksum)
    )
    _LOGGER.info("applied migration %04d_%s", migration.version, migration.name)
    return True
