"""Kick committed outbox rows onto the webhook stream.

`Producer.start()` starts the broker (which creates the consumer group) before the first kick.
A kick that fails (Redis down) is logged and dropped: the row stays `pending` in PostgreSQL and
the reconciler kicks it again, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from redis.exceptions import RedisError
from taskiq.exceptions import TaskiqError
from taskiq.kicker import AsyncKicker

from wamesh.settings import Settings
from wamesh.webhooks.broker import DELIVER_TASK, make_broker

_LOGGER = logging.getLogger(__name__)
KICK_TIMEOUT_S = 10.0
KICK_BATCH = 50  # ids per stream message: one claim query and one XADD/XACK per batch


class Producer:
    """Kicks delivery ids (implements wamesh.outbox.Kicker)."""

    def __init__(self, settings: Settings) -> None:
        self._broker = make_broker(settings)
        self._kicker: AsyncKicker[[list[str]], None] = AsyncKicker(DELIVER_TASK, self._broker, {})
        self._started = False

    async def start(self) -> None:
        """Start the broker (creates the stream and its consumer group); tolerate Redis down."""
        try:
            await self._broker.startup()
            self._started = True
        except (OSError, RedisError) as exc:
            _LOGGER.warning(
                "webhook queue unavailable at start (%s); the reconciler will deliver",
                type(exc).__name__,
            )

    async def stop(self) -> None:
        """Close the broker's connections."""
        await self._broker.shutdown()

    async def kick(self, delivery_ids: Sequence[str]) -> None:
        """Queue one attempt of each row; never raises for an unreachable Redis."""
        try:
            if not self._started:
                await self._broker.startup()
                self._started = True
            ids = list(delivery_ids)
            for start in range(0, len(ids), KICK_BATCH):
                await asyncio.wait_for(
                    self._kicker.kiq(ids[start : start + KICK_BATCH]), KICK_TIMEOUT_S
                )
        except (OSError, RedisError, TimeoutError, TaskiqError) as exc:
            _LOGGER.warning(
                "could not kick %d deliveries (%s); the reconciler will",
                len(delivery_ids),
                type(exc).__name__,
            )


@asynccontextmanager
async def running_producer(settings: Settings) -> AsyncIterator[Producer]:
    """A started producer, stopped on exit."""
    producer = Producer(settings)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
