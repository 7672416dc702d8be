"""Pool mode's shared parts: which lines want a worker, and waking idle pool workers.

A line wants a worker while its `desired_state` is `started` (migration 0010; set by
`POST /v1/sessions/{id}/start` and `.../stop`, gRPC `StartSession` / `StopSession`, and the
dashboard). Pool workers read the wanting lines longest-waiting first (`desired_at`, then id)
and race for them only through the line's lease (`SET NX` in Redis, wamesh.registry): the one
arbiter pinned and pool workers share, so no line is ever served twice.

Waking: idle pool workers block on the Redis list POOL_WAKE_KEY (`BLPOP` with the safety-net
timeout, WAMESH_POOL_POLL_MS) on their one Redis connection, which an idle worker uses for
nothing else. Whoever makes a line want a worker pushes one token (the gateway on create and
start; a worker letting go of a line that still wants one, on SIGTERM). The list is trimmed to
POOL_WAKE_KEEP tokens, so when no pool worker listens it does not grow; a stale token costs one
scan.
"""

from __future__ import annotations

from redis.asyncio import Redis

from wamesh.constants import (
    DESIRED_STARTED,
    DESIRED_STOPPED,
    POOL_BLOCK_MAX_S,
    POOL_CANDIDATES,
    POOL_WAKE_KEEP,
    POOL_WAKE_KEY,
)
from wamesh.db.pool import Pool

_WANTING = """
SELECT id::text AS id FROM wamesh.sessions
WHERE desired_state = %s
ORDER BY desired_at, id
LIMIT %s
"""

_STILL_WANTED = "SELECT desired_state FROM wamesh.sessions WHERE id = %s"


async def wanting_lines(pool: Pool, limit: int = POOL_CANDIDATES) -> list[str]:
    """Ids of the lines that want a worker, longest waiting first."""
    async with pool.connection() as conn:
        cursor = await conn.execute(_WANTING, (DESIRED_STARTED, limit))
        return [str(row["id"]) for row in await cursor.fetchall()]


async def desired_state(pool: Pool, session_id: str) -> str | None:
    """The line's desired state, None when it is deleted."""
    async with pool.connection() as conn:
        cursor = await conn.execute(_STILL_WANTED, (session_id,))
        row = await cursor.fetchone()
    return str(row["desired_state"]) if row else None


async def stop_logged_out(pool: Pool, session_id: str) -> None:
    """A logged-out line wants no worker until someone starts it again (to pair it anew)."""
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE wamesh.sessions SET desired_state = %s, desired_at = now() "
            "WHERE id = %s AND desired_state = %s AND status = 'logged_out'",
            (DESIRED_STOPPED, session_id, DESIRED_STARTED),
        )


async def wake_pool(redis: Redis, tokens: int = 1) -> None:
    """Wake up to `tokens` idle pool workers (best effort: their poll is the safety net)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lpush(POOL_WAKE_KEY, *(["1"] * tokens))
        pipe.ltrim(POOL_WAKE_KEY, 0, POOL_WAKE_KEEP - 1)
        await pipe.execute()


async def wait_for_wake(redis: Redis, timeout_s: float) -> bool:
    """Block until a wake token arrives (True) or `timeout_s` passes (False)."""
    block_s = min(timeout_s, POOL_BLOCK_MAX_S)
    return await redis.blpop([POOL_WAKE_KEY], timeout=block_s) is not None
