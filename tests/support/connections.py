"""Connection counters: who holds how many PostgreSQL and Redis connections, by name."""

from __future__ import annotations

import psycopg
import redis


def pg_connections(database_url: str, prefix: str) -> int:
    """Server connections to this test's database whose application_name starts with `prefix`."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE %s AND pid <> pg_backend_pid()",
            (prefix + "%",),
        ).fetchone()
    return int(row[0]) if row else 0


def redis_connections(redis_url: str, prefix: str, *, this_db: bool = False) -> int:
    """Redis connections whose client name starts with `prefix`: in any database, or with
    `this_db` only those that selected `redis_url`'s database (so processes other tests left
    on the shared server are not counted)."""
    client = redis.Redis.from_url(redis_url)
    db = str(client.connection_pool.connection_kwargs.get("db", 0))
    try:
        return sum(
            1
            for c in client.client_list()
            if str(c.get("name", "")).startswith(prefix) and (not this_db or str(c["db"]) == db)
        )
    finally:
        client.close()
