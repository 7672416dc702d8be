"""In-process fan-out of a line's events to its streaming subscribers (StreamEvents, StreamQr).

Each subscriber has a bounded queue; one that falls too far behind is dropped (its stream ends)
rather than slowing the line. `close()` ends every stream, e.g. when the worker stops.

The hub also keeps the line's last `RECENT_EVENTS` events (QR codes and pairing codes excepted:
they are credentials of the moment), so a subscriber can start with the recent past (the
dashboard's chat view). This is a view, not a store: it is empty after a worker restart; the
delivery log is the durable record. Budget: at most `RECENT_EVENTS` events of about 1 KiB each
per line (a message's `data`; its media are referenced by id, never held).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Collection, Sequence

from wamesh import constants as c
from wamesh.errors import InvalidInput
from wamesh.session.events import LineEvent

_QUEUE_SIZE = 1000
_CLOSED = None
RECENT_EVENTS = 200
_NOT_KEPT = frozenset({c.EVENT_SESSION_QR, c.EVENT_SESSION_PAIRING_CODE})


def check_recent(count: int) -> int:
    """How many recent events a subscriber may ask for: 0..RECENT_EVENTS."""
    if not 0 <= count <= RECENT_EVENTS:
        raise InvalidInput(f"recent: 0 to {RECENT_EVENTS}", "recent")
    return count


class Hub:
    """Publish once, deliver to every current subscriber."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[LineEvent | None]] = set()
        self._recent: deque[LineEvent] = deque(maxlen=RECENT_EVENTS)

    def publish(self, event: LineEvent) -> None:
        """Deliver without waiting; drop subscribers whose queue is full."""
        if event.type not in _NOT_KEPT:
            self._recent.append(event)
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._subscribers.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(_CLOSED)

    def close(self) -> None:
        """End every subscription."""
        for queue in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_CLOSED)
        self._subscribers.clear()

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        recent: int = 0,
        types: Collection[str] = (),
        after: str = "",
        first: Sequence[LineEvent] = (),
    ) -> AsyncIterator[AsyncIterator[LineEvent]]:
        """Subscribe for the duration of the block (subscribed before the block starts): `first`,
        then the kept events of `types` (empty: every type) after the event `after` (all kept
        ones when it is no longer kept) or else the last `recent` of them, then new ones."""
        queue: asyncio.Queue[LineEvent | None] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        past = [*first, *self._past(recent, types, after)]
        self._subscribers.add(queue)
        try:
            yield _drain(past, queue, types)
        finally:
            self._subscribers.discard(queue)

    def _past(self, recent: int, types: Collection[str], after: str) -> list[LineEvent]:
        kept = list(self._recent)
        if after:
            ids = [e.id for e in kept]
            kept = kept[ids.index(after) + 1 :] if after in ids else kept
        elif recent:
            kept = [e for e in kept if not types or e.type in types][-recent:]
        else:
            return []
        return [e for e in kept if not types or e.type in types]


async def _drain(
    past: list[LineEvent], queue: asyncio.Queue[LineEvent | None], types: Collection[str]
) -> AsyncIterator[LineEvent]:
    for event in past:
        yield event
    while (live := await queue.get()) is not _CLOSED:
        assert live is not None
        if not types or live.type in types:
            yield live
