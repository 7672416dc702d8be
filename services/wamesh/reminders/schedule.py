"""When the next occurrence of a repeating reminder is due, if there is one."""

from __future__ import annotations

from datetime import datetime, timedelta

from wamesh.reminders.model import Reminder

UNITS_S = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def every_seconds(every: int, unit: str) -> int:
    """`every` `unit`s in seconds."""
    return every * UNITS_S[unit]


def next_due(reminder: Reminder) -> datetime | None:
    """The next occurrence's due time: one interval after this one's (not after the send, so a
    late send does not drift the series), unless the count or the end date is reached."""
    if not reminder.repeat_every_seconds:
        return None
    if reminder.repeat_count is not None and reminder.occurrence >= reminder.repeat_count:
        return None
    due = reminder.due_at + timedelta(seconds=reminder.repeat_every_seconds)
    if reminder.repeat_until is not None and due > reminder.repeat_until:
        return None
    return due
