"""What a webhook response means: delivered, give up, or retry after how long.

2xx delivers. 410 Gone gives up and disables the line's webhook. Other 4xx give up at once, except
408, 425 and 429, which retry like 5xx, timeouts and connection errors. Retries wait
WEBHOOK_BACKOFF_MS * 2^(attempt-1), capped at WEBHOOK_MAX_BACKOFF_MS, plus up to 25 % jitter; a
`Retry-After` header (seconds or an HTTP date) replaces that, capped the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

RETRYABLE_4XX = frozenset({408, 425, 429})


class Verdict(Enum):
    """What to do after an attempt."""

    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "give_up"
    DISABLE = "disable"


def verdict(status: int | None) -> Verdict:
    """The verdict for an HTTP status (None: no response at all)."""
    if status is None:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 410:
        return Verdict.DISABLE
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return Verdict.GIVE_UP
    return Verdict.RETRY


@dataclass(frozen=True)
class Backoff:
    """Retry delays in seconds."""

    base_s: float
    cap_s: float

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """The wait before attempt `attempt + 1`."""
        honoured = parse_retry_after(retry_after)
        if honoured is not None:
            return min(honoured, self.cap_s)
        exponential = min(self.cap_s, self.base_s * float(2 ** max(0, attempt - 1)))
        return min(self.cap_s, exponential * (1 + random.random() / 4))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header, or None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
