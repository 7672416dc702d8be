"""A PgBouncer in transaction mode for the tests of this folder, and connection counters."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from tests.gateway.conftest import api, gateway, grpc_channel
from tests.support.infra import Infra
from tests.support.pgbouncer import PgBouncer, start_pgbouncer
from tests.webhooks.conftest import receiver, spawn_webhook_worker

__all__ = ["api", "gateway", "grpc_channel", "receiver", "spawn_webhook_worker"]


@pytest.fixture(scope="session")
def pgbouncer(infra: Infra) -> Iterator[PgBouncer]:
    """One pooler in front of the test server for the whole run."""
    workdir = Path(tempfile.mkdtemp(prefix="wamesh-test-pgbouncer-"))
    workdir.chmod(0o755)
    try:
        with start_pgbouncer(workdir, infra.pg_admin_url) as bouncer:
            yield bouncer
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def pg_connections(database_url: str, prefix: str) -> int:
    """Server connections to this test's database whose application_name starts with `prefix`."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE %s AND pid <> pg_backend_pid()",
            (prefix + "%",),
        ).fetchone()
    return int(row[0]) if row else 0


def redis_connections(redis_url: str, prefix: str) -> int:
    """Redis connections whose client name starts with `prefix` (any database)."""
    client = redis.Redis.from_url(redis_url)
    try:
        return sum(1 for c in client.client_list() if str(c.get("name", "")).startswith(prefix))
    finally:
        client.close()
