"""Fixtures: real PostgreSQL and Redis for every test that asks (see tests/support/infra.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio

from tests.support.infra import Infra, fresh_database, fresh_redis, start_infra
from tests.support.session_fixtures import connect, make_line, spawn
from wamesh.db.pool import Pool, open_pool


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """The test servers, started once per run (in a folder the postgres user can reach)."""
    workdir = Path(tempfile.mkdtemp(prefix="wamesh-test-servers-"))
    workdir.chmod(0o755)
    try:
        with start_infra(workdir) as servers:
            yield servers
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def database_url(infra: Infra) -> Iterator[str]:
    """A migrated database of this test's own."""
    with fresh_database(infra) as url:
        yield url


@pytest.fixture
def empty_database_url(infra: Infra) -> Iterator[str]:
    """An empty (unmigrated) database of this test's own."""
    with fresh_database(infra, migrated=False) as url:
        yield url


@pytest.fixture
def redis_url(infra: Infra) -> Iterator[str]:
    """A flushed Redis database of this test's own."""
    with fresh_redis(infra) as url:
        yield url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    """A connection pool on this test's database."""
    async with open_pool(database_url, max_size=20) as opened:
        yield opened


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A client of this test's Redis database."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def repo_root() -> Path:
    """The repository's top folder."""
    return Path(__file__).resolve().parent.parent


__all__ = ["connect", "make_line", "spawn"]
