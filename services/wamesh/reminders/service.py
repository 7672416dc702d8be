"""Create, list, get, edit and cancel reminders (what the gateway's REST and gRPC admin call).

Due times must name their zone; a due time more than PAST_TOLERANCE_S in the past is refused,
and a delay in seconds may be given instead. A `client_key` makes creation idempotent: the same
key on the same line returns the reminder created first. Only pending reminders can be edited or
cancelled; cancelling cancels the pending occurrence of its series, so it does not repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg.errors

from wamesh.constants import MAX_TEXT_LENGTH
from wamesh.db.pool import Pool
from wamesh.errors import Conflict, InvalidInput, ReminderNotFound, SessionNotFound, Unprocessable
from wamesh.ids import as_uuid
from wamesh.jid import parse_recipient
from wamesh.lines import parse_line_id
from wamesh.reminders.model import COLUMNS, STATUSES, Reminder

PAST_TOLERANCE_S = 60
MIN_REPEAT_S = 1
MAX_LIST = 1000


@dataclass(frozen=True)
class Repeat:
    """Repeat every `every_seconds`, until a time and/or for `count` occurrences in all."""

    every_seconds: int
    until: datetime | None = None
    count: int | None = None


@dataclass(frozen=True)
class NewReminder:
    """What creating a reminder takes: `due_at` or `delay_s`."""

    recipient: str
    text: str
    due_at: datetime | None = None
    delay_s: int | None = None
    repeat: Repeat | None = None
    client_key: str | None = None


@dataclass(frozen=True)
class ReminderPatch:
    """Fields to change on a pending reminder."""

    recipient: str | None = None
    text: str | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class ReminderFilter:
    """Which reminders to list."""

    status: str | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    limit: int = 100


def _check_text(text: str) -> str:
    if not text.strip():
        raise InvalidInput("text must not be empty", "text")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            f"text is longer than {MAX_TEXT_LENGTH} characters", "text", "text_too_long"
        )
    return text


def _check_due(due_at: datetime, field: str = "due_at") -> datetime:
    if due_at.tzinfo is None:
        raise InvalidInput(
            f"{field} needs a time zone (e.g. 2026-12-01T09:00:00+01:00 or ...Z)", field
        )
    if due_at < datetime.now(UTC) - timedelta(seconds=PAST_TOLERANCE_S):
        raise Unprocessable(f"{field} is in the past (more than {PAST_TOLERANCE_S} s ago)", field)
    return due_at


def resolve_due(new: NewReminder) -> datetime:
    """The due time from `due_at` or `delay_s` (exactly one)."""
    if (new.due_at is None) == (new.delay_s is None):
        raise InvalidInput("give exactly one of due_at and delay_seconds", "due_at")
    if new.delay_s is not None:
        if new.delay_s < 0:
            raise InvalidInput("delay_seconds must not be negative", "delay_seconds")
        return datetime.now(UTC) + timedelta(seconds=new.delay_s)
    assert new.due_at is not None
    return _check_due(new.due_at)


def _check_repeat(repeat: Repeat | None, due_at: datetime) -> Repeat | None:
    if repeat is None:
        return None
    if repeat.every_seconds < MIN_REPEAT_S:
        raise InvalidInput(f"repeat.every must be at least {MIN_REPEAT_S} second", "repeat")
    if repeat.until is not None:
        if repeat.until.tzinfo is None:
            raise InvalidInput("repeat.until needs a time zone", "repeat.until")
        if repeat.until < due_at:
            raise Unprocessable("repeat.until is before the first occurrence", "repeat.until")
    if repeat.count is not None and repeat.count < 1:
        raise InvalidInput("repeat.count must be at least 1", "repeat.count")
    return repeat


_INSERT = f"""
WITH new AS (SELECT gen_random_uuid() AS id)
INSERT INTO wamesh.reminders (id, series_id, session_id, recipient, text, due_at,
    repeat_every_seconds, repeat_until, repeat_count, client_key)
SELECT new.id, new.id, %s, %s, %s, %s, %s, %s, %s, %s FROM new
ON CONFLICT (session_id, client_key) DO NOTHING
RETURNING {COLUMNS}
"""


async def create_reminder(pool: Pool, session_id: str, new: NewReminder) -> tuple[Reminder, bool]:
    """Create (or, for a known client key, find); return it and whether it is new."""
    session_id = parse_line_id(session_id)
    async with pool.connection() as conn:
        await _require_line(conn, session_id)
    due_at = resolve_due(new)
    repeat = _check_repeat(new.repeat, due_at)
    values = (
        session_id,
        parse_recipient(new.recipient, "recipient"),
        _check_text(new.text),
        due_at,
        repeat.every_seconds if repeat else None,
        repeat.until if repeat else None,
        repeat.count if repeat else None,
        new.client_key,
    )
    async with pool.connection() as conn:
        try:
            cursor = await conn.execute(_INSERT, values)
        except psycopg.errors.ForeignKeyViolation:
            raise SessionNotFound(session_id) from None
        row = await cursor.fetchone()
        if row is not None:
            return Reminder(**row), True
        cursor = await conn.execute(
            f"SELECT {COLUMNS} FROM wamesh.reminders WHERE session_id = %s AND client_key = %s",
            (session_id, new.client_key),
        )
        existing = await cursor.fetchone()
    assert existing is not None
    return Reminder(**existing), False


async def list_reminders(pool: Pool, session_id: str, where: ReminderFilter) -> list[Reminder]:
    """A line's reminders in due order."""
    session_id = parse_line_id(session_id)
    if where.status is not None and where.status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", "status")
    async with pool.connection() as conn:
        await _require_line(conn, session_id)
        cursor = await conn.execute(
            f"SELECT {COLUMNS} FROM wamesh.reminders WHERE session_id = %(sid)s "
            "AND (%(status)s::text IS NULL OR status = %(status)s) "
            "AND (%(from)s::timestamptz IS NULL OR due_at >= %(from)s) "
            "AND (%(to)s::timestamptz IS NULL OR due_at < %(to)s) "
            "ORDER BY due_at, id LIMIT %(limit)s",
            {
                "sid": session_id,
                "status": where.status,
                "from": where.due_from,
                "to": where.due_to,
                "limit": min(where.limit, MAX_LIST),
            },
        )
        return [Reminder(**row) for row in await cursor.fetchall()]


async def _require_line(conn: psycopg.AsyncConnection[dict[str, object]], session_id: str) -> None:
    cursor = await conn.execute("SELECT 1 FROM wamesh.sessions WHERE id = %s", (session_id,))
    if await cursor.fetchone() is None:
        raise SessionNotFound(session_id)


async def get_reminder(pool: Pool, session_id: str, reminder_id: str) -> Reminder:
    """One reminder of a line."""
    session_id = parse_line_id(session_id)
    wanted = as_uuid(reminder_id)
    async with pool.connection() as conn:
        await _require_line(conn, session_id)
        cursor = await conn.execute(
            f"SELECT {COLUMNS} FROM wamesh.reminders WHERE session_id = %s AND id = %s",
            (session_id, wanted),
        )
        row = await cursor.fetchone()
    if row is None:
        raise ReminderNotFound(f"no reminder {reminder_id} on session {session_id}")
    return Reminder(**row)


async def update_reminder(
    pool: Pool, session_id: str, reminder_id: str, patch: ReminderPatch
) -> Reminder:
    """Edit a pending reminder."""
    current = await get_reminder(pool, session_id, reminder_id)
    recipient = (
        parse_recipient(patch.recipient, "recipient")
        if patch.recipient is not None
        else current.recipient
    )
    text = _check_text(patch.text) if patch.text is not None else current.text
    due_at = _check_due(patch.due_at) if patch.due_at is not None else current.due_at
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"UPDATE wamesh.reminders SET recipient = %s, text = %s, due_at = %s, "
            f"updated_at = now() WHERE id = %s AND status = 'pending' RETURNING {COLUMNS}",
            (recipient, text, due_at, current.id),
        )
        row = await cursor.fetchone()
    if row is None:
        raise Conflict(
            f"reminder {reminder_id} is {current.status}; only pending reminders can be edited"
        )
    return Reminder(**row)


async def cancel_reminder(pool: Pool, session_id: str, reminder_id: str) -> Reminder:
    """Cancel a pending reminder (and so the rest of its series)."""
    current = await get_reminder(pool, session_id, reminder_id)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"UPDATE wamesh.reminders SET status = 'cancelled', updated_at = now() "
            f"WHERE id = %s AND status = 'pending' RETURNING {COLUMNS}",
            (current.id,),
        )
        row = await cursor.fetchone()
    if row is None:
        raise Conflict(
            f"reminder {reminder_id} is {current.status}; only pending reminders can be cancelled"
        )
    return Reminder(**row)
