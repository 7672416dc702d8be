"""The session worker's reminder runner: its own line's due reminders, in due order, once each.

Each occurrence is taken in its own transaction with `FOR UPDATE SKIP LOCKED` (only this line's
rows), sent through the line with the client message id `reminder:<series>:<occurrence>`, and
marked `sent` with the message id in the same transaction that writes its `reminder.sent`
outbox row and, for a repeating reminder, inserts the next occurrence. While the line is not
ready, nothing is taken; due reminders wait and go out in due order when it is.

No double send: if the worker dies after the send but before the commit, the row is still
pending, and the next worker sends it again with the same client message id; the line answers
from `sent_messages` (or, if the crash came even earlier, the engine finds the message id it
derives from that client message id already sent) instead of sending a second message.

A failed send is retried with back-off (REMINDER_BACKOFF_MS, doubling, at most 10 minutes) up to
REMINDER_ATTEMPTS; then the occurrence is `failed` with the reason and a `reminder.failed`
event. Wake-ups: the gateway's `MeshService.WakeReminders` call after it creates or moves one of
the line's reminders, the line turning ready, the next known due time, and a REMINDER_POLL_MS
safety-net poll (reminders written straight into the table). No LISTEN connection: a worker
holds one PostgreSQL connection while idle (README, "Budgets").

While PostgreSQL cannot be reached (or has no connection to give), the runner backs off with
jitter from 1 s to ERROR_BACKOFF_MAX_S and says so once per TROUBLE_LOG_INTERVAL_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import datetime, timedelta

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import PoolTimeout

from wamesh.constants import EVENT_REMINDER_FAILED, EVENT_REMINDER_SENT, TROUBLE_LOG_INTERVAL_S
from wamesh.db.pool import Pool
from wamesh.errors import IdempotencyConflict, InvalidInput, SessionNotReady, WameshError
from wamesh.logs import OncePer
from wamesh.outbox import record_event
from wamesh.reminders.model import COLUMNS, Reminder
from wamesh.reminders.schedule import next_due
from wamesh.session.events import LineEvent
from wamesh.session.line import Line
from wamesh.settings import Settings

_LOGGER = logging.getLogger(__name__)
MAX_BACKOFF_S = 600.0
# Longest wait before looking again after the database failed: a retry costs nothing while the
# pool knows PostgreSQL is away (wamesh.db.pool), and due reminders go out this soon after it is
# back.
ERROR_BACKOFF_MAX_S = 5.0

_TAKE = f"""
SELECT {COLUMNS} FROM wamesh.reminders
WHERE session_id = %s AND status = 'pending' AND due_at <= now()
  AND (next_attempt_at IS NULL OR next_attempt_at <= now())
ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
"""
_NEXT_WAKE = """
SELECT min(GREATEST(due_at, COALESCE(next_attempt_at, due_at))) AS at FROM wamesh.reminders
WHERE session_id = %s AND status = 'pending'
"""
_NEXT_OCCURRENCE = """
INSERT INTO wamesh.reminders (series_id, session_id, recipient, text, due_at, repeat_every_seconds,
    repeat_until, repeat_count, occurrence)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


class ReminderRunner:
    """Sends one line's due reminders while the line is ready."""

    def __init__(self, settings: Settings, pool: Pool, line: Line) -> None:
        self._pool = pool
        self._line = line
        self._attempts = settings.reminder_attempts
        self._backoff_s = settings.reminder_backoff_ms / 1000
        self._poll_s = settings.reminder_poll_ms / 1000
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._trouble = OncePer(_LOGGER, TROUBLE_LOG_INTERVAL_S)
        self._error_delay_s = 1.0

    async def start(self) -> None:
        """Start sending (a first look happens at once)."""
        self._task = asyncio.create_task(self._run(), name="reminders-run")

    async def stop(self) -> None:
        """Stop at once (an occurrence being sent is rolled back and retried by the next worker)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        """Look for due reminders now."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            if self._line.status != "ready":
                with contextlib.suppress(TimeoutError):
                    await self._line.wait_for({"ready"}, limit_s=self._poll_s)
                continue
            self._wake.clear()
            try:
                while self._line.status == "ready" and await self._send_next():
                    pass
                wait_s = await self._until_next_due()
            except (psycopg.Error, PoolTimeout, WameshError) as exc:
                wait_s = self._after_error(exc)
            else:
                self._error_delay_s = 1.0
                self._trouble.recovered("reminders: database reachable again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)

    def _after_error(self, exc: Exception) -> float:
        """Seconds until the next try: doubling, jittered, capped; logged once per interval."""
        wait_s = self._error_delay_s * (0.5 + random.random() / 2)  # jitter: lines retry apart
        self._error_delay_s = min(ERROR_BACKOFF_MAX_S, self._error_delay_s * 2)
        reason = exc.message if isinstance(exc, WameshError) else f"{type(exc).__name__}: {exc}"
        self._trouble.warning("reminders: %s; retrying with back-off", reason.strip())
        return wait_s

    async def _until_next_due(self) -> float:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_NEXT_WAKE, (self._line.session_id,))
            row = await cursor.fetchone()
        at: datetime | None = row["at"] if row else None
        if at is None:
            return self._poll_s
        now = datetime.now(at.tzinfo)
        return max(0.01, min(self._poll_s, (at - now).total_seconds()))

    async def _send_next(self) -> bool:
        """Take, send and settle one due occurrence; False when none is due."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(_TAKE, (self._line.session_id,))
            row = await cursor.fetchone()
            if row is None:
                return False
            reminder = Reminder(**row)
            try:
                result = await self._line.send(
                    reminder.recipient, reminder.text, reminder.client_message_id()
                )
            except SessionNotReady:
                raise
            except IdempotencyConflict as exc:  # sent before an edit, by a worker that then died
                events, ids = await self._sent(conn, reminder, exc.message_id)
            except InvalidInput as exc:
                events, ids = await self._fail(conn, reminder, exc.message, final=True)
            except WameshError as exc:
                events, ids = await self._fail(conn, reminder, exc.message, final=False)
            else:
                events, ids = await self._sent(conn, reminder, result.message_id)
        await self._line.after_commit(ids, events)
        return True

    async def _sent(
        self, conn: AsyncConnection[DictRow], reminder: Reminder, message_id: str
    ) -> tuple[list[LineEvent], list[str]]:
        await conn.execute(
            "UPDATE wamesh.reminders SET status = 'sent', sent_message_id = %s, "
            "attempts = attempts + 1, last_error = NULL, updated_at = now() WHERE id = %s",
            (message_id, reminder.id),
        )
        due = next_due(reminder)
        if due is not None:
            await conn.execute(
                _NEXT_OCCURRENCE,
                (
                    reminder.series_id,
                    reminder.session_id,
                    reminder.recipient,
                    reminder.text,
                    due,
                    reminder.repeat_every_seconds,
                    reminder.repeat_until,
                    reminder.repeat_count,
                    reminder.occurrence + 1,
                ),
            )
        data = {
            "reminder_id": reminder.id,
            "series_id": reminder.series_id,
            "occurrence": reminder.occurrence,
            "message_id": message_id,
            "recipient": reminder.recipient,
        }
        return await self._event(conn, EVENT_REMINDER_SENT, data)

    async def _fail(
        self, conn: AsyncConnection[DictRow], reminder: Reminder, reason: str, *, final: bool
    ) -> tuple[list[LineEvent], list[str]]:
        attempts = reminder.attempts + 1
        if final or attempts >= self._attempts:
            await conn.execute(
                "UPDATE wamesh.reminders SET status = 'failed', attempts = %s, last_error = %s, "
                "updated_at = now() WHERE id = %s",
                (attempts, reason, reminder.id),
            )
            data = {
                "reminder_id": reminder.id,
                "series_id": reminder.series_id,
                "occurrence": reminder.occurrence,
                "error": reason,
                "attempts": attempts,
            }
            return await self._event(conn, EVENT_REMINDER_FAILED, data)
        delay = min(MAX_BACKOFF_S, self._backoff_s * 2 ** (attempts - 1))
        await conn.execute(
            "UPDATE wamesh.reminders SET attempts = %s, last_error = %s, next_attempt_at = %s, "
            "updated_at = now() WHERE id = %s",
            (
                attempts,
                reason,
                datetime.now(reminder.due_at.tzinfo) + timedelta(seconds=delay),
                reminder.id,
            ),
        )
        return [], []

    async def _event(
        self, conn: AsyncConnection[DictRow], kind: str, data: dict[str, object]
    ) -> tuple[list[LineEvent], list[str]]:
        event = LineEvent(kind, data)
        delivery_id = await record_event(
            conn, self._line.session_id, kind, data, event.id, event.timestamp
        )
        return [event], [delivery_id] if delivery_id else []
