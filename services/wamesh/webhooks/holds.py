"""Which lines have rows waiting in a live webhook worker's memory (see `lanes`).

A worker refreshes its held lines every HOLD_REFRESH_S in one sorted set beside the stream (score:
when the hold ends, Unix seconds); the reconciler reads the live ones and leaves those lines'
pending rows alone, so rows that wait for a place (a busy line, a paused endpoint) are not kicked
and written again and again. A worker that dies stops refreshing: HOLD_TTL_S later its lines'
rows are the reconciler's again. One round trip per refresh, however many lines.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from wamesh.webhooks.stream import HOLD_TTL_S, holds_key


class Holds:
    """The held lines of the stream `queue_name`."""

    def __init__(self, redis: Redis, queue_name: str) -> None:
        self._redis = redis
        self._key = holds_key(queue_name)

    async def hold(self, lines: list[str]) -> None:
        """Hold `lines` for HOLD_TTL_S more; drop lapsed holds."""
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            if lines:
                pipe.zadd(self._key, dict.fromkeys(lines, now + HOLD_TTL_S))
            pipe.zremrangebyscore(self._key, "-inf", now)
            await pipe.execute()

    async def held(self) -> list[str]:
        """Lines held now."""
        found = await self._redis.zrangebyscore(self._key, time.time(), "+inf")
        return [m.decode() if isinstance(m, bytes) else str(m) for m in found]
