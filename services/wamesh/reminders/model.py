"""A reminder occurrence as stored, and its JSON and wire forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wamesh.session.events import iso, timestamp
from wamesh.v1 import admin_pb2

COLUMNS = (
    "id::text AS id, series_id::text AS series_id, session_id::text AS session_id, recipient, "
    "text, due_at, repeat_every_seconds, repeat_until, repeat_count, occurrence, status, attempts, "
    "next_attempt_at, last_error, sent_message_id, client_key, created_at, updated_at"
)
STATUSES = ("pending", "sent", "failed", "cancelled")


@dataclass(frozen=True)
class Reminder:
    """One occurrence of a reminder (a repeating one has one row per occurrence, one series)."""

    id: str
    series_id: str
    session_id: str
    recipient: str
    text: str
    due_at: datetime
    repeat_every_seconds: int | None
    repeat_until: datetime | None
    repeat_count: int | None
    occurrence: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    sent_message_id: str | None
    client_key: str | None
    created_at: datetime
    updated_at: datetime

    def client_message_id(self) -> str:
        """The send's idempotency key: the same reminder occurrence is never sent twice."""
        return f"reminder:{self.series_id}:{self.occurrence}"

    def to_json(self) -> dict[str, Any]:
        """The REST form."""
        repeat = None
        if self.repeat_every_seconds:
            repeat = {
                "every_seconds": self.repeat_every_seconds,
                "until": iso(self.repeat_until),
                "count": self.repeat_count,
            }
        return {
            "id": self.id,
            "series_id": self.series_id,
            "session_id": self.session_id,
            "recipient": self.recipient,
            "text": self.text,
            "due_at": iso(self.due_at),
            "repeat": repeat,
            "occurrence": self.occurrence,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": iso(self.next_attempt_at),
            "last_error": self.last_error,
            "sent_message_id": self.sent_message_id,
            "client_key": self.client_key,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }

    def to_proto(self) -> admin_pb2.Reminder:
        """The wire form."""
        repeat = None
        if self.repeat_every_seconds:
            repeat = admin_pb2.Repeat(
                every_seconds=self.repeat_every_seconds,
                until=timestamp(self.repeat_until),
                count=self.repeat_count or 0,
            )
        return admin_pb2.Reminder(
            id=self.id,
            session_id=self.session_id,
            recipient=self.recipient,
            text=self.text,
            due_at=timestamp(self.due_at),
            repeat=repeat,
            status=self.status,
            attempts=self.attempts,
            last_error=self.last_error or "",
            sent_message_id=self.sent_message_id or "",
            occurrence=self.occurrence,
            client_key=self.client_key or "",
            created_at=timestamp(self.created_at),
            updated_at=timestamp(self.updated_at),
        )
