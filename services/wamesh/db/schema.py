"""The schema that holds every wamesh table, type and function, and statements that name it.

Statements (and migration files) name wamesh's objects with the schema written out, as a default
install runs them: `SELECT ... FROM wamesh.sessions`, `ALTER DEFAULT PRIVILEGES IN SCHEMA
wamesh ...`. The word `wamesh` on its own (not part of a longer name such as `wamesh_migrations`)
means "the schema". When WAMESH_DB_SCHEMA names another schema, each statement runs with that
word replaced by the other name, quoted: the name is validated once (`schema_name`, when the
settings are read), and each statement is rewritten once and cached (`Statements`, one per
schema, which the connections' cursor class applies: wamesh.db.pool.SchemaCursor), so the hot path
is one dictionary look-up.

Inside a string literal the rewritten name is quoted, so write it only where PostgreSQL reads a
name (`to_regclass('wamesh.sessions')`, `'wamesh'::regnamespace`), never as text compared with a
catalog's name column.

Nothing depends on `search_path`: no `SET`, no `options` startup parameter, no extra statement.
A transaction-mode pooler (PgBouncer, Supabase's Supavisor on port 6543) may hand every
transaction to another server connection, and an existing `public.sessions` (the original Node
bot's table) is never what a statement means by `sessions`.
"""

from __future__ import annotations

import re

from wamesh.constants import DB_SCHEMA_DEFAULT

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SYSTEM = ("public", "information_schema")
_WORD = re.compile(r"\b" + DB_SCHEMA_DEFAULT + r"\b")
_EXPECTED = (
    "expected a lower-case SQL name (a-z, 0-9, _; not starting with a digit; at most 63 "
    "characters) other than public, information_schema and pg_*"
)


def schema_name(raw: str) -> str:
    """`raw` as a schema name wamesh may own; ValueError saying what is expected otherwise."""
    name = raw.strip()
    if not _NAME.fullmatch(name) or name in _SYSTEM or name.startswith("pg_"):
        raise ValueError(_EXPECTED)
    return name


def qualify(statement: str, schema: str) -> str:
    """`statement` naming `schema` (already checked by `schema_name`) wherever it says `wamesh`."""
    if schema == DB_SCHEMA_DEFAULT:
        return statement
    return _WORD.sub(f'"{schema}"', statement)


class Statements:
    """Statements as they run in one schema: each rewritten once, then served from a cache."""

    def __init__(self, schema: str) -> None:
        self.schema = schema_name(schema)
        self._rewritten: dict[str, str] = {}

    def __call__(self, statement: str) -> str:
        """`statement` naming this schema."""
        if self.schema == DB_SCHEMA_DEFAULT:
            return statement
        found = self._rewritten.get(statement)
        if found is None:
            found = self._rewritten[statement] = qualify(statement, self.schema)
        return found
