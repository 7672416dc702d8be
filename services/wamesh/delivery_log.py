"""The webhook delivery log: list and read deliveries, and queue them again (replay).

Replay contract with the delivery task: a replayed row goes back to `pending` with its claim
cleared and `attempts` reset to 0, so it gets a full new budget of WEBHOOK_ATTEMPTS; its earlier
attempts stay in `webhook_attempts` (ordered by time) and are added to `attempts_before`, so the
numbers of its new attempts go on from the last one (migration 0012's trigger adds it). The row
keeps its id, so the receiver sees the same `webhook-id`. It is then kicked; if the kick is lost,
the reconciler re-kicks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wamesh.db.pool import Pool
from wamesh.errors import Conflict, DeliveryNotFound, InvalidInput
from wamesh.ids import as_uuid
from wamesh.outbox import Kicker

DELIVERY_STATUSES = ("pending", "delivering", "delivered", "failed")
_COLUMNS = (
    "id::text AS id, session_id::text AS session_id, event_type, status, attempts, last_error, "
    "last_status_code, created_at, updated_at, delivered_at, payload"
)


@dataclass(frozen=True)
class Attempt:
    """One POST of a delivery."""

    attempt: int
    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_snippet: str | None


@dataclass(frozen=True)
class Delivery:
    """An outbox row."""

    id: str
    session_id: str
    event_type: str
    status: str
    attempts: int
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
    attempt_log: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries to list."""

    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


async def list_deliveries(pool: Pool, session_id: str, where: DeliveryFilter) -> list[Delivery]:
    """A line's deliveries, newest first."""
    if where.status is not None and where.status not in DELIVERY_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(DELIVERY_STATUSES)}", "status")
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"SELECT {_COLUMNS} FROM wamesh.webhook_deliveries WHERE session_id = %(sid)s "
            "AND (%(status)s::text IS NULL OR status = %(status)s) "
            "AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s) "
            "AND (%(until)s::timestamptz IS NULL OR created_at < %(until)s) "
            "ORDER BY created_at DESC, id LIMIT %(limit)s",
            {
                "sid": session_id,
                "status": where.status,
                "since": where.since,
                "until": where.until,
                "limit": where.limit,
            },
        )
        return [Delivery(**row) for row in await cursor.fetchall()]


def _delivery_key(session_id: str, delivery_id: str) -> str:
    """`delivery_id` as a key, or DeliveryNotFound when it cannot be one."""
    wanted = as_uuid(delivery_id)
    if wanted is None:
        raise DeliveryNotFound(f"no delivery {delivery_id} on session {session_id}")
    return wanted


async def get_delivery(pool: Pool, session_id: str, delivery_id: str) -> Delivery:
    """One delivery of a line, with every attempt."""
    wanted = _delivery_key(session_id, delivery_id)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"SELECT {_COLUMNS} FROM wamesh.webhook_deliveries WHERE session_id = %s AND id = %s",
            (session_id, wanted),
        )
        row = await cursor.fetchone()
        if row is None:
            raise DeliveryNotFound(f"no delivery {delivery_id} on session {session_id}")
        cursor = await conn.execute(
            "SELECT attempt, started_at, status_code, latency_ms, error, response_snippet "
            "FROM wamesh.webhook_attempts WHERE delivery_id = %s ORDER BY id",
            (row["id"],),
        )
        attempts = tuple(Attempt(**a) for a in await cursor.fetchall())
    return Delivery(**row, attempt_log=attempts)


_REQUEUE = (
    "UPDATE wamesh.webhook_deliveries SET status = 'pending', "
    "attempts_before = attempts_before + attempts, attempts = 0, claimed_until = NULL, "
    "last_error = NULL, updated_at = now(), kicked_at = now() WHERE session_id = %s "
)


async def redeliver(pool: Pool, kicker: Kicker | None, session_id: str, delivery_id: str) -> None:
    """Queue one delivery again (not while it is being delivered)."""
    wanted = _delivery_key(session_id, delivery_id)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            _REQUEUE + "AND id = %s AND status <> 'delivering' RETURNING id::text",
            (session_id, wanted),
        )
        row = await cursor.fetchone()
    if row is None:
        await get_delivery(pool, session_id, delivery_id)
        raise Conflict(f"delivery {delivery_id} is being delivered now; try again when it is done")
    if kicker is not None:
        await kicker.kick([row["id"]])


async def redeliver_failed(
    pool: Pool, kicker: Kicker | None, session_id: str, since: datetime
) -> int:
    """Queue again every failed delivery of the line created at or after `since`."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            _REQUEUE + "AND status = 'failed' AND created_at >= %s RETURNING id::text",
            (session_id, since),
        )
        ids = [row["id"] for row in await cursor.fetchall()]
    if ids and kicker is not None:
        await kicker.kick(ids)
    return len(ids)
