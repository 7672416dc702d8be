"""The psycopg 3 connection pool every process opens once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from wamesh.errors import Unavailable

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]


@asynccontextmanager
async def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    name: str = "wamesh",
    connect_timeout: float = 10.0,
) -> AsyncIterator[Pool]:
    """Open a pool of dict-row connections, checked to work before it is handed out."""
    pool: Pool = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        timeout=connect_timeout,
        connection_class=AsyncConnection[DictRow],
        kwargs={"row_factory": dict_row, "autocommit": True},
    )
    try:
        await pool.open(wait=True, timeout=connect_timeout)
    except Exception as exc:
        await pool.close()
        raise Unavailable(
            f"cannot connect to PostgreSQL ({type(exc).__name__}); check DATABASE_URL"
        ) from exc
    try:
        yield pool
    finally:
        await pool.close()
