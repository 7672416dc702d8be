"""WAMESH_DB_SCHEMA: a name checked once, statements naming it, each rewritten once."""

from __future__ import annotations

import pytest

from wamesh.db.migrate import migrate
from wamesh.db.pool import cursor_class, open_pool
from wamesh.db.schema import Statements, qualify, schema_name
from wamesh.errors import ConfigError
from wamesh.settings import Settings

STATEMENT = (
    "SELECT s.id FROM wamesh.sessions s JOIN wamesh.media m ON m.session_id = s.id "
    "WHERE to_regclass('wamesh.reminders') IS NOT NULL"
)


class TestSchemaName:
    """Only a plain lower-case name wamesh may own; public and the system's are refused."""

    @pytest.mark.parametrize("name", ["wamesh", "lines_x", "_a1", "a" * 63, " spaced "])
    def test_accepted(self, name: str) -> None:
        assert schema_name(name) == name.strip()

    @pytest.mark.parametrize(
        "name",
        [
            "public",
            "information_schema",
            "pg_catalog",
            "pg_x",
            "Wamesh",
            "1abc",
            "a-b",
            "a.b",
            'a"b',
            "",
            "a" * 64,
        ],
    )
    def test_refused(self, name: str) -> None:
        with pytest.raises(ValueError, match="lower-case SQL name"):
            schema_name(name)

    def test_settings_name_the_variable(self) -> None:
        assert Settings.from_env({}).database_schema == "wamesh"
        assert Settings.from_env({"WAMESH_DB_SCHEMA": "lines_x"}).database_schema == "lines_x"
        with pytest.raises(ConfigError, match="WAMESH_DB_SCHEMA='public' is invalid"):
            Settings.from_env({"WAMESH_DB_SCHEMA": "public"})


class TestQualify:
    """The word `wamesh` names the schema; longer names that start with it do not."""

    def test_default_schema_leaves_the_statement_as_written(self) -> None:
        assert qualify(STATEMENT, "wamesh") is STATEMENT

    def test_another_schema_is_named_quoted_everywhere(self) -> None:
        assert qualify(STATEMENT, "user") == (
            'SELECT s.id FROM "user".sessions s JOIN "user".media m ON m.session_id = s.id '
            "WHERE to_regclass('\"user\".reminders') IS NOT NULL"
        )

    def test_longer_names_are_untouched(self) -> None:
        text = (
            "INSERT INTO wamesh.wamesh_migrations SELECT wamesh_notify_session(), x_wamesh.y; "
            "REVOKE ALL ON ALL TABLES IN SCHEMA wamesh FROM anon"
        )
        assert qualify(text, "lines") == (
            'INSERT INTO "lines".wamesh_migrations SELECT wamesh_notify_session(), x_wamesh.y; '
            'REVOKE ALL ON ALL TABLES IN SCHEMA "lines" FROM anon'
        )


class TestStatements:
    """Each statement is rewritten once per schema and then served from the cache."""

    def test_rewritten_once_then_cached(self) -> None:
        statements = Statements("lines_x")
        first = statements(STATEMENT)
        assert "lines_x" in first
        assert statements(STATEMENT) is first
        assert Statements("wamesh")(STATEMENT) is STATEMENT

    def test_one_cursor_class_per_schema(self) -> None:
        assert cursor_class("lines_x") is cursor_class("lines_x")
        assert cursor_class("lines_x") is not cursor_class("lines_y")
        assert (
            cursor_class("lines_x").statements(STATEMENT).startswith('SELECT s.id FROM "lines_x"')
        )


class TestCursor:
    """The cursor of a pool in another schema runs each statement there, one at a time or many."""

    async def test_execute_and_executemany_name_the_pools_schema(
        self, empty_database_url: str
    ) -> None:
        await migrate(empty_database_url, "lines_x")
        async with (
            open_pool(empty_database_url, schema="lines_x") as pool,
            pool.connection() as conn,
        ):
            cursor = conn.cursor()
            await cursor.executemany(
                "INSERT INTO wamesh.sessions (name) VALUES (%s)", [("one",), ("two",)]
            )
            await cursor.execute("SELECT name FROM wamesh.sessions ORDER BY name")
            assert [row["name"] for row in await cursor.fetchall()] == ["one", "two"]
