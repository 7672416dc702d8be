"""Fixtures for fault tests: PostgreSQL and Redis of the test's own (so a test may stop them) and
an in-process gateway on them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psycopg
import pytest

from tests.gateway.conftest import Api, gateway_settings
from tests.support.supabase import OWNER, prepare_cluster, supabase_like
from wamesh.dev.servers import PostgresServer, RedisServer
from wamesh.gateway.app import RunningGateway, running_gateway


@dataclass
class Servers:
    """A private PostgreSQL and Redis; `stop()`/`start()` them to make an outage."""

    postgres: PostgresServer
    redis: RedisServer
    database_url: str


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Started servers with a migrated database, stopped afterwards (in a folder the postgres
    user can reach, as root)."""
    workdir = Path(tempfile.mkdtemp(prefix="wamesh-faults-"))
    workdir.chmod(0o755)
    postgres = PostgresServer(workdir / "pg" / "data", durable=False)
    redis = RedisServer(workdir / "redis", durable=False)
    postgres.start()
    redis.start()
    try:
        prepare_cluster(postgres.url)
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE wamesh OWNER {OWNER}")
        url = supabase_like(postgres.url_for("wamesh"))  # the roles connect as wamesh_app
        yield Servers(postgres, redis, url)
    finally:
        redis.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
async def gateway(servers: Servers) -> AsyncIterator[RunningGateway]:
    """A gateway on the private servers."""
    settings = gateway_settings(servers.database_url, servers.redis.url)
    async with running_gateway(settings) as running:
        yield running


@pytest.fixture
async def api(gateway: RunningGateway) -> AsyncIterator[Api]:
    """A REST client of the gateway."""
    async with aiohttp.ClientSession() as session:
        yield Api(session, f"http://127.0.0.1:{gateway.http_port}")
