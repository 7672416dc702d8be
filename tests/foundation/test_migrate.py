"""Migrations: applied in order, recorded, idempotent, safe when run concurrently."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import psycopg
import pytest

from wamesh.db.migrate import load_migrations, migrate
from wamesh.errors import ConfigError

TABLES = {
    "sessions",
    "session_auth",
    "sent_messages",
    "reminders",
    "webhook_deliveries",
    "webhook_attempts",
    "webhook_endpoints",
    "media",
    "media_chunks",
    "wamesh_migrations",
}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'wamesh'"
        ).fetchall()
    return {r[0] for r in rows}


def _recorded(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT version, name FROM wamesh.wamesh_migrations ORDER BY version"
        ).fetchall()


class TestMigrate:
    """`wamesh migrate` creates the schema once and then changes nothing."""

    async def test_first_run_creates_the_schema_and_records_it(
        self, empty_database_url: str
    ) -> None:
        applied = await migrate(empty_database_url)
        assert [m.version for m in applied] == [m.version for m in load_migrations()]
        assert _tables(empty_database_url) >= TABLES
        assert len(_recorded(empty_database_url)) == len(load_migrations())

    async def test_second_run_applies_nothing(self, empty_database_url: str) -> None:
        await migrate(empty_database_url)
        assert await migrate(empty_database_url) == []
        assert len(_recorded(empty_database_url)) == len(load_migrations())

    async def test_concurrent_runs_both_succeed(self, empty_database_url: str) -> None:
        results = await asyncio.gather(*(migrate(empty_database_url) for _ in range(4)))
        assert sorted(len(r) for r in results) == [0, 0, 0, len(load_migrations())]

    async def test_an_edited_applied_migration_is_refused(self, empty_database_url: str) -> None:
        await migrate(empty_database_url)
        with psycopg.connect(empty_database_url, autocommit=True) as conn:
            conn.execute("UPDATE wamesh.wamesh_migrations SET checksum = 'x' WHERE version = 1")
        with pytest.raises(ConfigError, match="changed after it was applied"):
            await migrate(empty_database_url)


class TestMigrateCommand:
    """The CLI applies migrations from DATABASE_URL, twice and at once."""

    def _run(self, url: str) -> subprocess.Popen[str]:
        env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "WAMESH_LOG_LEVEL": "warning"}
        return subprocess.Popen(
            [sys.executable, "-m", "wamesh", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def test_two_processes_at_once_then_a_third_changes_nothing(
        self, empty_database_url: str
    ) -> None:
        procs = [self._run(empty_database_url) for _ in range(2)]
        outs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        every = ", ".join(f"{m.version:04d}_{m.name}" for m in load_migrations())
        assert sorted(o[0].strip() for o in outs) == [
            f"migrations: {every}",
            "migrations: nothing to apply",
        ]
        third = self._run(empty_database_url)
        assert third.communicate(timeout=60)[0].strip() == "migrations: nothing to apply"
        assert _tables(empty_database_url) >= TABLES

    def test_missing_database_url_names_it(self) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "wamesh", "migrate"],
            env={"PATH": "/usr/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2
        assert "DATABASE_URL is required" in proc.stderr
