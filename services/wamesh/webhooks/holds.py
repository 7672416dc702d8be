"""Which lines have rows waiting in a live webhook worker's memory (see `lanes`).

A worker refreshes its held lines every HOLD_REFRESH_S in one sorted set beside the stream (score:
when the hold ends, Unix seconds); the reconciler reads the live ones and leaves those lines'
pending rows alone, so rows that wait for a place (a busy line, a paused endpoint) are not kicked
and written again and again. A worker that dies stops refreshing: HOLD_TTL_S later its lines'
rows are the reconciler's again. Each worker holding rows also refreshes its own token in a
second set (and withdraws it when it holds none): when one lapses (a worker died, or stopped
with rows waiting), the next reconciler round ignores every hold once, since the dead worker's
rows may belong to lines another worker holds now. One round trip per refresh, however many
lines; none while a worker holds nothing.
"""

from __future__ import annotations

import time
import uuid

from redis.asyncio import Redis

from wamesh.webhooks.stream import HOLD_TTL_S, holders_key, holds_key


class Holds:
    """The held lines of the stream `queue_name`."""

    def __init__(self, redis: Redis, queue_name: str, sweep_s: float = 0.0) -> None:
        self._redis = redis
        self._key = holds_key(queue_name)
        self._holders = holders_key(queue_name)
        self._token = uuid.uuid4().hex
        self._sweep_s = sweep_s  # how long holds are ignored after a worker lapsed
        self._sweep_until = 0.0
        self._holding = False

    async def hold(self, lines: list[str]) -> None:
        """Hold `lines` for HOLD_TTL_S more, and say this worker lives; drop lapsed holds. A worker
        holding nothing says nothing (no round trip) and withdraws its token once, so only the
        death of a worker that held rows makes the reconciler sweep."""
        if not lines and not self._holding:
            return
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            if lines:
                pipe.zadd(self._key, dict.fromkeys(lines, now + HOLD_TTL_S))
                pipe.zadd(self._holders, {self._token: now + HOLD_TTL_S})
            else:
                pipe.zrem(self._holders, self._token)
            pipe.zremrangebyscore(self._key, "-inf", now)
            await pipe.execute()
        self._holding = bool(lines)

    async def held(self) -> list[str]:
        """Lines held now; none for `sweep_s` after a worker's token lapsed (its rows, as they
        come of age for the reconciler, may be in lines others hold)."""
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
            pipe.zrangebyscore(self._holders, "-inf", now)
            pipe.zrangebyscore(self._key, now, "+inf")
            lapsed, found = await pipe.execute()
        if lapsed:
            await self._redis.zrem(self._holders, *lapsed)
            self._sweep_until = now + self._sweep_s
        if now < self._sweep_until or lapsed:
            return []
        return [m.decode() if isinstance(m, bytes) else str(m) for m in found]
