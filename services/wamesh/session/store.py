"""The SQL of one line's worker: its `sessions` row, its outbox rows and its sent-message ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from wamesh.db.pool import Pool
from wamesh.engines.base import Message
from wamesh.errors import SessionNotFound
from wamesh.outbox import OutboxEvent, record_events
from wamesh.record import Record
from wamesh.session.events import LineEvent

# The row this send stored, or the one stored before it under the same client message id.
_REMEMBER_SENT = """
WITH stored AS (
    INSERT INTO wamesh.sent_messages
        (session_id, client_message_id, message_id, chat_id, sent_at, content_sha256)
    VALUES (%(session_id)s, %(client_message_id)s, %(message_id)s, %(chat_id)s, %(sent_at)s,
            %(content_sha256)s)
    ON CONFLICT DO NOTHING
    RETURNING message_id, chat_id, sent_at, content_sha256
)
SELECT message_id, chat_id, sent_at, content_sha256 FROM stored
UNION ALL
SELECT message_id, chat_id, sent_at, content_sha256 FROM wamesh.sent_messages
WHERE session_id = %(session_id)s AND client_message_id = %(client_message_id)s
LIMIT 1
"""


@dataclass(frozen=True, eq=False, repr=False)
class LineRow(Record):
    """What the worker needs of the line's row at start."""

    id: str
    name: str
    engine: str
    status: str


@dataclass(frozen=True, eq=False, repr=False)
class StatusChange(Record):
    """A new status and the columns that go with it."""

    status: str
    qr: str | None = None
    qr_expires_at: datetime | None = None
    me: str | None = None
    last_error: str | None = None
    keep_me: bool = True


@dataclass(frozen=True, eq=False, repr=False)
class SentRecord(Record):
    """The first result of a client message id."""

    message_id: str
    chat_id: str
    sent_at: datetime
    content_sha256: str | None = None  # None on rows stored before migration 0011


class LineStore:
    """Reads and writes of one line, each write in one transaction with its outbox rows."""

    def __init__(self, pool: Pool, session_id: str) -> None:
        self._pool = pool
        self.session_id = session_id

    async def load(self) -> LineRow:
        """The line's row, or SessionNotFound; counts this start in `worker_starts` (the same
        statement: the gateway's worker restart counter costs the worker nothing more)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE wamesh.sessions SET worker_starts = worker_starts + 1 WHERE id = %s "
                "RETURNING id::text AS id, name, engine, status",
                (self.session_id,),
            )
            row = await cursor.fetchone()
        if row is None:
            raise SessionNotFound(self.session_id)
        return LineRow(**row)

    async def change_status(self, change: StatusChange, events: list[LineEvent]) -> list[str]:
        """Write the status and its events' outbox rows atomically; return the delivery ids."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                """
                UPDATE wamesh.sessions SET status = %s, qr = %s, qr_expires_at = %s,
                    me = CASE WHEN %s THEN COALESCE(%s, me) ELSE %s END,
                    last_error = %s, updated_at = now()
                WHERE id = %s RETURNING id
                """,
                (
                    change.status,
                    change.qr,
                    change.qr_expires_at,
                    change.keep_me,
                    change.me,
                    change.me,
                    change.last_error,
                    self.session_id,
                ),
            )
            if await cursor.fetchone() is None:
                raise SessionNotFound(self.session_id)
            return await self._record(conn, events)

    async def record(self, events: list[LineEvent]) -> list[str]:
        """Write outbox rows for events that change no status (a batch: one transaction, one
        read of the line's filter, one INSERT)."""
        async with self._pool.connection() as conn, conn.transaction():
            return await self._record(conn, events)

    async def _record(self, conn: AsyncConnection[DictRow], events: list[LineEvent]) -> list[str]:
        pending = [OutboxEvent(e.type, e.data, e.id, e.timestamp) for e in events]
        return await record_events(conn, self.session_id, pending)

    async def find_sent(self, client_message_id: str) -> SentRecord | None:
        """The stored result of a client message id."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT message_id, chat_id, sent_at, content_sha256 FROM wamesh.sent_messages "
                "WHERE session_id = %s AND client_message_id = %s",
                (self.session_id, client_message_id),
            )
            row = await cursor.fetchone()
        return SentRecord(**row) if row else None

    async def chat_of_sent(self, message_id: str) -> str | None:
        """The chat of a message this line sent through wamesh, or None."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT chat_id FROM wamesh.sent_messages "
                "WHERE session_id = %s AND message_id = %s LIMIT 1",
                (self.session_id, message_id),
            )
            row = await cursor.fetchone()
        return str(row["chat_id"]) if row else None

    async def remember_sent(
        self, client_message_id: str, message: Message, content_sha256: str | None = None
    ) -> SentRecord:
        """Store the result of a send; when another call stored one first, return that. One
        statement; a second read only when a concurrent send of the same id committed while
        this one ran (the statement's snapshot cannot see that row)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                _REMEMBER_SENT,
                {
                    "session_id": self.session_id,
                    "client_message_id": client_message_id,
                    "message_id": message.id,
                    "chat_id": message.chat_id,
                    "sent_at": message.timestamp,
                    "content_sha256": content_sha256,
                },
            )
            row = await cursor.fetchone()
        if row is not None:
            return SentRecord(**row)
        found = await self.find_sent(client_message_id)
        assert found is not None
        return found
