"""In-process fan-out of a line's events to its streaming subscribers (StreamEvents, StreamQr).

Each subscriber has a bounded queue; one that falls too far behind is dropped (its stream ends)
rather than slowing the line. `close()` ends every stream, e.g. when the worker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from wamesh.session.events import LineEvent

_QUEUE_SIZE = 1000
_CLOSED = None


class Hub:
    """Publish once, deliver to every current subscriber."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[LineEvent | None]] = set()

    def publish(self, event: LineEvent) -> None:
        """Deliver without waiting; drop subscribers whose queue is full."""
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
    async def subscribe(self) -> AsyncIterator[AsyncIterator[LineEvent]]:
        """Subscribe for the duration of the block (subscribed before the block starts)."""
        queue: asyncio.Queue[LineEvent | None] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield _drain(queue)
        finally:
            self._subscribers.discard(queue)


async def _drain(queue: asyncio.Queue[LineEvent | None]) -> AsyncIterator[LineEvent]:
    while (event := await queue.get()) is not _CLOSED:
        assert event is not None
        yield event
