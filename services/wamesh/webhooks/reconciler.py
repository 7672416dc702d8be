"""Re-kick deliveries nobody is working on: nothing is lost.

Every WEBHOOK_RECONCILE_INTERVAL_MS it kicks (a) `pending` rows that are due and were not kicked
within WEBHOOK_RECONCILE_GRACE_MS (a crash between commit and kick, a kick lost to a Redis restart
or FLUSHALL, a worker that died while a retry was scheduled) and (b) `delivering` rows whose
claim expired (a worker killed mid-POST). It also makes up for the stream broker reclaiming
stranded messages only when new traffic arrives. Kicked rows get `kicked_at`, taken with SKIP
LOCKED, so two worker processes do not kick the same rows in one round. While the worker sees
no traffic and its rounds find nothing, the wait between rounds doubles up to half the grace
(2.5 s with the defaults), so an idle worker pays for fewer rounds; the first kick or stranded
row brings it back to the interval. A stranded row is then kicked within grace + grace / 2 at
worst (7.5 s instead of 6 s with the defaults). Pending rows of lines a
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


def _no_activity() -> int:
    return 0


async def reconcile_forever(
    pool: Pool,
    kicker: Kicker,
    interval_s: float,
    grace_s: float,
    held: HeldLines = _no_holds,
    activity: Callable[[], int] = _no_activity,
) -> None:
    """Reconcile until cancelled; database hiccups are logged and retried next round.
    `activity` counts the worker's traffic (any change means it is not idle)."""
    wait_s, seen = interval_s, activity()
    while True:
        found = 0
        try:
            while (kicked := await reconcile_once(pool, kicker, grace_s, held)) == BATCH:
                found += kicked
            found += kicked
        except (psycopg.Error, PoolTimeout) as exc:
            _LOGGER.warning("reconciler: database unavailable (%s)", type(exc).__name__)
        except Exception:  # the safety net must never die; say why and go on
            _LOGGER.exception("reconciler round failed")
        wait_s = idle_wait(wait_s, interval_s, grace_s, busy=bool(found) or activity() != seen)
        seen = activity()
        await asyncio.sleep(wait_s)


def idle_wait(last_s: float, interval_s: float, grace_s: float, *, busy: bool) -> float:
    """The wait before the next round: the interval when busy, else the last wait doubled, up
    to half the grace (never below the interval)."""
    if busy:
        return interval_s
    return min(max(interval_s, grace_s / 2), last_s * 2)
