"""The webhook outbox: one `webhook_deliveries` row per event a line's filter accepts.

Rows are inserted in the same transaction as the state change they report (`record_event` takes
the caller's connection), and kicked to the webhook queue only after that transaction commits
(`Kicker`). A kick that never happens (crash, Redis down) is covered by the webhook worker's
reconciler, which re-kicks pending rows: no event is lost.

Envelope (the webhook body and `payload` column): `{"id","type","session_id","timestamp","data"}`;
`id` is the delivery row's id and the `webhook-id` header, stable across retries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from redis.asyncio import Redis

from wamesh.settings import Settings


class Kicker(Protocol):
    """Queues committed outbox rows for delivery (implemented by wamesh.webhooks.producer)."""

    async def kick(self, delivery_ids: Sequence[str]) -> None:
        """Queue these committed rows; must not raise for a Redis outage (the reconciler covers)."""


@asynccontextmanager
async def open_kicker(
    settings: Settings, redis: Redis | None = None
) -> AsyncIterator[Kicker | None]:
    """The webhook queue's producer for this process (on the process's Redis client if given)."""
    from wamesh.webhooks.producer import running_producer

    async with running_producer(settings, redis) as producer:
        yield producer


def accepts(event_filter: Sequence[str], event_type: str) -> bool:
    """An empty filter accepts every type."""
    return not event_filter or event_type in event_filter


def envelope(
    delivery_id: str,
    event_type: str,
    session_id: str,
    data: Mapping[str, Any],
    moment: datetime | None = None,
) -> dict[str, Any]:
    """The webhook body, and the SSE frame's data: `moment` is the event's time (default now)."""
    moment = moment or datetime.now(UTC)
    return {
        "id": delivery_id,
        "type": event_type,
        "session_id": session_id,
        "timestamp": moment.astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "data": dict(data),
    }


@dataclass(frozen=True)
class OutboxEvent:
    """One event to record: its type and data, and optionally its id and time."""

    type: str
    data: Mapping[str, Any]
    id: str | None = None
    moment: datetime | None = None


# The envelopes go as one JSON array (encoded by the json module's C encoder) and each row's id
# and type are read back from its envelope: psycopg's Python array dumper escaped every element
# of a jsonb[] with a regular expression, 5-9 % of a busy line's CPU (py-spy under
# bench_line_events).
_INSERT_MANY = """
INSERT INTO wamesh.webhook_deliveries (id, session_id, event_type, payload)
SELECT (u.payload->>'id')::uuid, %s, u.payload->>'type', u.payload
FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS u(payload, n)
ORDER BY u.n
"""


async def record_events(
    conn: AsyncConnection[DictRow], session_id: str, events: Sequence[OutboxEvent]
) -> list[str]:
    """Insert the outbox rows of the events the line wants, in order, with one read of the line's
    filter and one INSERT however many there are; return their ids.

    Reads the line's filter inside the caller's transaction, so it sees the same row state.
    An event's `id` (default: a new UUID) becomes the envelope's `id` and the `webhook-id`."""
    if not events:
        return []
    cursor = await conn.execute(
        "SELECT webhook_url, webhook_events, webhook_enabled FROM wamesh.sessions WHERE id = %s",
        (session_id,),
    )
    line = await cursor.fetchone()
    if line is None or not line["webhook_url"] or not line["webhook_enabled"]:
        return []
    wanted = [e for e in events if accepts(line["webhook_events"], e.type)]
    if not wanted:
        return []
    ids = [e.id or str(uuid.uuid4()) for e in wanted]
    bodies = [
        envelope(i, e.type, session_id, e.data, e.moment) for i, e in zip(ids, wanted, strict=True)
    ]
    await conn.execute(_INSERT_MANY, (session_id, Jsonb(bodies)))
    return ids


async def record_event(
    conn: AsyncConnection[DictRow],
    session_id: str,
    event_type: str,
    data: Mapping[str, Any],
    delivery_id: str | None = None,
    moment: datetime | None = None,
) -> str | None:
    """Insert one event's outbox row (see `record_events`); return its id, or None when the line
    does not want it."""
    ids = await record_events(
        conn, session_id, [OutboxEvent(event_type, data, delivery_id, moment)]
    )
    return ids[0] if ids else None
