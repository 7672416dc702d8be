"""The dev-mode webhook inbox's memory: the newest requests it received."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

INBOX_SIZE = 500


@dataclass(frozen=True)
class InboxEntry:
    """One received webhook request."""

    received_at: float
    session_id: str
    webhook_id: str
    type: str | None
    verified: bool
    body: Any


class DevInbox:
    """The newest requests, in memory."""

    def __init__(self) -> None:
        self.entries: deque[InboxEntry] = deque(maxlen=INBOX_SIZE)

    def add(self, entry: InboxEntry) -> None:
        """Keep a request."""
        self.entries.appendleft(entry)
