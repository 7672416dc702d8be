"""The real PostgreSQL and Redis servers the tests use.

From WAMESH_TEST_DATABASE_URL / WAMESH_TEST_REDIS_URL when set (a server the tests may create and
drop databases on, and flush Redis databases of), otherwise private servers started from the
machine's binaries on free ports, in a throw-away folder. Each test gets its own database, cloned
from a migrated template, and its own Redis database number, flushed.

Databases are prepared like a Supabase project (tests/support/supabase.py: Supabase's roles and
default privileges, the original bot's `public.sessions`), owned and migrated by `postgres`; a
migrated test database's URL connects as `wamesh_app`, the non-owner role without DDL rights the
session worker, gateway and webhook worker run as (README "Database roles"). On a server of
WAMESH_TEST_DATABASE_URL, the tests create those roles when missing.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from tests.support.supabase import (
    APP_ROLE,
    OWNER,
    as_role,
    migrate_and_grant,
    prepare_cluster,
    prepare_database,
)
from wamesh.dev.servers import MissingBinary, PostgresServer, RedisServer

REDIS_DATABASES = 64
_counter = itertools.count(1)


@dataclass
class Infra:
    """Admin URLs of the servers and the template databases' names (prepared; and migrated)."""

    pg_admin_url: str
    redis_base_url: str
    template: str

    @property
    def base_template(self) -> str:
        """The prepared, unmigrated template."""
        return self.template + "_base"

    def pg_url(self, database: str) -> str:
        """URL of `database` on the test server."""
        return urlunsplit(urlsplit(self.pg_admin_url)._replace(path=f"/{database}"))

    def redis_url(self, index: int) -> str:
        """URL of Redis database `index`."""
        return f"{self.redis_base_url.rstrip('/').rsplit('/', 1)[0]}/{index}"


@contextmanager
def start_infra(workdir: Path) -> Iterator[Infra]:
    """Start (or connect to) the servers; yield their URLs; stop what was started."""
    started: list[PostgresServer | RedisServer] = []
    try:
        pg_url = os.environ.get("WAMESH_TEST_DATABASE_URL")
        if not pg_url:
            pg = PostgresServer(workdir / "pg" / "data", durable=False)
            started.append(pg)
            pg.start()
            pg_url = pg.url
        redis_url = os.environ.get("WAMESH_TEST_REDIS_URL")
        if not redis_url:
            rs = RedisServer(workdir / "redis", durable=False, databases=REDIS_DATABASES)
            started.append(rs)
            rs.start()
            redis_url = rs.url
        infra = Infra(pg_url, redis_url, f"wamesh_tpl_{os.getpid()}")
        prepare_cluster(pg_url)
        _create_templates(infra)
        yield infra
        _drop_database(infra, infra.template)
        _drop_database(infra, infra.base_template)
    except MissingBinary as exc:
        raise RuntimeError(
            f"the tests need real PostgreSQL and Redis servers: {exc.message}; or set "
            "WAMESH_TEST_DATABASE_URL and WAMESH_TEST_REDIS_URL to servers the tests may use"
        ) from exc
    finally:
        for server in reversed(started):
            server.stop()


def _admin(infra: Infra) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(infra.pg_admin_url, autocommit=True)


def _create_templates(infra: Infra) -> None:
    _drop_database(infra, infra.template)
    _drop_database(infra, infra.base_template)
    with _admin(infra) as conn:
        conn.execute(f'CREATE DATABASE "{infra.base_template}" OWNER {OWNER}')
    prepare_database(infra.pg_url(infra.base_template))
    with _admin(infra) as conn:
        conn.execute(
            f'CREATE DATABASE "{infra.template}" TEMPLATE "{infra.base_template}" OWNER {OWNER}'
        )
    migrate_and_grant(infra.pg_url(infra.template))


def _drop_database(infra: Infra, name: str) -> None:
    with _admin(infra) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(infra: Infra, *, migrated: bool = True) -> Iterator[str]:
    """A new database (a clone of the migrated template, as wamesh_app; or of the prepared one, as
    its owner `postgres`, to migrate) dropped afterwards."""
    name = f"wamesh_t{os.getpid()}_{next(_counter)}"
    template = infra.template if migrated else infra.base_template
    with _admin(infra) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER {OWNER}')
    try:
        yield as_role(infra.pg_url(name), APP_ROLE if migrated else OWNER)
    finally:
        _drop_database(infra, name)


@contextmanager
def fresh_redis(infra: Infra) -> Iterator[str]:
    """A flushed Redis database of its own, flushed again afterwards."""
    index = next(_counter) % REDIS_DATABASES if "WAMESH_TEST_REDIS_URL" not in os.environ else 15
    url = infra.redis_url(index)
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
