"""PostgreSQL and Redis failures as `DependencyUnavailable`, within a bounded wait.

A front (REST, gRPC) must answer an outage honestly and quickly: `unavailable(exc)` says which
dependency an exception of psycopg, psycopg_pool or redis-py means (None: not an outage, a bug
to surface), and `bounded(name)` turns a wait longer than DEPENDENCY_WAIT_S into the same error.
The fronts translate once (gateway `problems.py`, `wamesh.rpc.errors`); the gateway bounds the
waits it makes (its Redis lookups in `routing.py`, its PostgreSQL connection acquisition).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import psycopg
import redis.exceptions
from psycopg_pool import PoolTimeout

from wamesh.errors import DependencyUnavailable

POSTGRESQL: Final = "postgresql"
REDIS: Final = "redis"
DEPENDENCY_WAIT_S: Final = 0.75  # under the 1 s a front promises, with room to answer
# SQLSTATE classes that mean "the server is not there for us": connection exceptions,
# insufficient resources (too many connections), operator intervention (shutting down).
_OUTAGE_SQLSTATES: Final = ("08", "53", "57P")
# Every exception type `unavailable` may translate (for `except` clauses).
DEPENDENCY_ERRORS: Final = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def unavailable(exc: BaseException) -> DependencyUnavailable | None:
    """The outage `exc` reports, naming the dependency; None when it is not an outage."""
    if isinstance(exc, DependencyUnavailable):
        return exc
    if isinstance(exc, PoolTimeout):
        return DependencyUnavailable(POSTGRESQL, "no connection within the wait")
    if isinstance(exc, psycopg.InterfaceError | psycopg.OperationalError):
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate is None or sqlstate.startswith(_OUTAGE_SQLSTATES):
            return DependencyUnavailable(POSTGRESQL, type(exc).__name__)
        return None
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return DependencyUnavailable(REDIS, type(exc).__name__)
    return None


@asynccontextmanager
async def bounded(dependency: str, wait_s: float = DEPENDENCY_WAIT_S) -> AsyncIterator[None]:
    """Run the block against `dependency`: its outage, or no answer within `wait_s`, raises
    DependencyUnavailable naming it."""
    try:
        async with asyncio.timeout(wait_s):
            yield
    except TimeoutError as exc:
        raise DependencyUnavailable(dependency, f"no answer within {wait_s:g} s") from exc
    except DEPENDENCY_ERRORS as exc:
        translated = unavailable(exc)
        if translated is None:
            raise
        raise translated from exc
