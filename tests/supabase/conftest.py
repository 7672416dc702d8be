"""A database prepared like a Supabase project, per test, and wamesh's roles on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.browser.conftest import standin
from tests.budget.conftest import pgbouncer
from tests.support.infra import Infra, fresh_database
from tests.support.supabase import APP_ROLE, as_role, grant_app_role
from tests.support.workers import WorkerProcess
from tests.webhooks.conftest import receiver
from wamesh.constants import DB_SCHEMA_DEFAULT
from wamesh.db.migrate import migrate

__all__ = ["pgbouncer", "receiver", "standin"]

# Rows of the original bot's public.sessions (columns: tests/support/supabase.py).
BOT_LINES = [
    {
        "id": "3f0e9a52-7c1b-4d2e-9a41-5b6c7d8e9f01",
        "name": "shop",
        "webhook_url": "https://hooks.example.com/shop",
        "webhook_secret": "whsec_" + "c2hvcHNob3BzaG9wc2hvcHNob3BzaG9wc2hvcHNob3A=",
    },
    {
        "id": "3f0e9a52-7c1b-4d2e-9a41-5b6c7d8e9f02",
        "name": None,
        "webhook_url": None,
        "webhook_secret": None,
    },
    {
        "id": "3f0e9a52-7c1b-4d2e-9a41-5b6c7d8e9f03",
        "name": "  support desk  ",
        "webhook_url": "https://user:pw@hooks.example.com/support",
        "webhook_secret": "a-plain-hmac-secret",
    },
]


@dataclass
class Project:
    """A test database prepared like a Supabase project (not yet migrated)."""

    admin_url: str  # a superuser (SET ROLE anon, as Supabase's REST API does)
    owner_url: str  # postgres: migrate, import-lines, README's grants
    app_url: str  # wamesh_app: what the session worker, gateway and webhook worker use

    async def migrate(self, schema: str = DB_SCHEMA_DEFAULT) -> list[int]:
        """`wamesh migrate` as the owner; the versions applied."""
        return [m.version for m in await migrate(self.owner_url, schema)]

    def grant(self, role: str = APP_ROLE, schema: str = DB_SCHEMA_DEFAULT) -> None:
        """README's grants to `role` (for `schema`)."""
        grant_app_role(self.owner_url, role, schema=schema)

    def owner(self, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run `statement` as the owner; its rows (none for a command)."""
        return run(self.owner_url, statement, params)

    def add_bot_lines(self, lines: list[dict[str, Any]] = BOT_LINES) -> None:
        """The original bot's rows, as its API (postgres) wrote them."""
        for line in lines:
            self.owner(
                "INSERT INTO public.sessions (id, name, status, webhook_url, webhook_secret) "
                "VALUES (%(id)s, %(name)s, 'ready', %(webhook_url)s, %(webhook_secret)s)",
                line,
            )


def run(url: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement on `url` (autocommit); its rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement.encode() if params is None else statement, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def project(infra: Infra) -> Iterator[Project]:
    """A fresh database prepared like a Supabase project, with the bot's empty public.sessions."""
    with fresh_database(infra, migrated=False) as owner_url:
        admin = urlsplit(infra.pg_admin_url).username or "postgres"
        yield Project(as_role(owner_url, admin), owner_url, as_role(owner_url, APP_ROLE))


async def wait_status(
    url: str, line: str, wanted: str, worker: WorkerProcess, timeout: float = 60
) -> None:
    """Wait until the line's row says `wanted` (read as `url`'s role)."""
    deadline = time.monotonic() + timeout
    found: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            raise AssertionError(f"worker exited with {worker.proc.returncode}:\n{worker.output()}")
        found = run(url, "SELECT status FROM wamesh.sessions WHERE id = %s", (line,))
        if found and found[0][0] == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"line {line} is {found} after {timeout} s:\n{worker.output()}")
