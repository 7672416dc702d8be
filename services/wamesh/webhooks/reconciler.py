"""Re-kick deliveries nobody is working on: nothing is lost.

Every WEBHOOK_RECONCILE_INTERVAL_MS it kicks (a) `pending` rows that are due and were not kicked
within WEBHOOK_RECONCILE_GRACE_MS (a crash between commit and kick, a kick lost to a Redis restart
or FLUSHALL, a worker that died while a retry was scheduled) and (b) `delivering` rows whose
claim expired (a worker killed mid-POST). It also makes up for the stream broker reclaiming
stranded messages only when new traffic arrives. Kicked rows get `kicked_at`, taken with SKIP
LOCKED, so two worker processes do not kick the same rows in one round. Pending rows of lines a
live worker holds (`holds`: they wait in its memory for a place) are left alone, so a long backlog
or a paused endpoint costs no row update per round; expired claims are kicked whatever the hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg
from psycopg_pool import PoolTimeout
from redis.exceptions import RedisError

from wamesh.db.pool import Pool
from wamesh.outbox import Kicker

HeldLines = Callable[[], Awaitable[list[str]]]

_LOGGER = logging.getLogger(__name__)
BATCH = 500

_STRANDED = """
WITH stranded AS (
    SELECT id FROM wamesh.webhook_deliveries
    WHERE (status = 'pending' AND session_id <> ALL(%(held)s::uuid[])
           AND COALESCE(next_attempt_at, created_at) <= now() - make_interval(secs => %(grace)s)
           AND (kicked_at IS NULL OR kicked_at <= now() - make_interval(secs => %(grace)s)))
       OR (status = 'delivering' AND claimed_until < now()
           AND (kicked_at IS NULL OR kicked_at <= now() - make_interval(secs => %(grace)s)))
    ORDER BY created_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
UPDATE wamesh.webhook_deliveries d SET kicked_at = now()
WHERE d.id = ANY(ARRAY(SELECT id FROM stranded))  -- by key; a join would scan the table
RETURNING d.id::text AS id
"""


async def _no_holds() -> list[str]:
    return []


async def reconcile_once(
    pool: Pool, kicker: Kicker, grace_s: float, held: HeldLines = _no_holds
) -> int:
    """Kick one batch of stranded rows; return how many."""
    try:
        lines = await held()
    except (OSError, RedisError):  # without Redis no kick goes out either; the next round will
        lines = []
    async with pool.connection() as conn:
        cursor = await conn.execute(_STRANDED, {"grace": grace_s, "batch": BATCH, "held": lines})
        ids = [row["id"] for row in await cursor.fetchall()]
    if ids:
        _LOGGER.info("re-kicking %d stranded deliveries", len(ids))
        await kicker.kick(ids)
    return len(ids)


async def reconcile_forever(
    pool: Pool, kicker: Kicker, interval_s: float, grace_s: float, held: HeldLines = _no_holds
) -> None:
    """Reconcile until cancelled; database hiccups are logged and retried next round."""
    while True:
        try:
            while await reconcile_once(pool, kicker, grace_s, held) == BATCH:
                pass
        except (psycopg.Error, PoolTimeout) as exc:
            _LOGGER.warning("reconciler: database unavailable (%s)", type(exc).__name__)
        except Exception:  # the safety net must never die; say why and go on
            _LOGGER.exception("reconciler round failed")
        await asyncio.sleep(interval_s)
