"""Kick committed outbox rows onto the webhook stream.

The webhook worker consumes the stream with taskiq (`wamesh.webhooks.broker`), but producing
needs none of it: a kick is one XADD of taskiq's JSON task message (`TaskiqMessage` of the
pinned taskiq 0.12.4: task id and name, labels, args, kwargs) under the field `data`, which is
what `RedisStreamBroker.kick` writes. Importing taskiq and pydantic cost every session worker
about 20 MiB of RSS (measured), one process per line; tests/webhooks/test_producer.py checks
that taskiq reads these messages as calls of the delivery task.

`start()` creates the stream and its consumer group (as the broker's startup does) before the
first kick: a group created later would skip earlier messages. A kick that fails (Redis down)
is logged and dropped: the row stays `pending` in PostgreSQL and the reconciler kicks it again,
so nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from wamesh.redis_client import redis_client
from wamesh.settings import Settings
from wamesh.webhooks.stream import CONSUMER_GROUP, DELIVER_TASK, STREAM_MAXLEN

_LOGGER = logging.getLogger(__name__)
KICK_TIMEOUT_S = 10.0
KICK_BATCH = 50  # ids per stream message: one claim query and one XADD/XACK per batch
PRODUCER_CONNECTIONS = 1  # kicks are pipelined; one connection keeps up (README, "Budgets")


def task_message(delivery_ids: Sequence[str]) -> bytes:
    """taskiq's JSON message for one call of the delivery task with `delivery_ids`."""
    return json.dumps(
        {
            "task_id": uuid.uuid4().hex,
            "task_name": DELIVER_TASK,
            "labels": {},
            "labels_types": {},
            "args": [list(delivery_ids)],
            "kwargs": {},
        },
        separators=(",", ":"),
    ).encode()


class Producer:
    """Kicks delivery ids (implements wamesh.outbox.Kicker)."""

    def __init__(self, settings: Settings, redis: Redis | None = None) -> None:
        self._stream = settings.webhook_queue_name
        self._owned = redis is None
        self._redis = redis or redis_client(settings, PRODUCER_CONNECTIONS, "wamesh-producer")
        self._started = False

    async def start(self) -> None:
        """Create the stream and its consumer group; tolerate Redis down."""
        try:
            await self._declare()
        except (OSError, RedisError) as exc:
            _LOGGER.warning(
                "webhook queue unavailable at start (%s); the reconciler will deliver",
                type(exc).__name__,
            )

    async def stop(self) -> None:
        """Close the connection (unless it is the caller's)."""
        if self._owned:
            await self._redis.aclose()

    async def kick(self, delivery_ids: Sequence[str]) -> None:
        """Queue one attempt of each row (one round trip); never raises for Redis trouble."""
        ids = list(delivery_ids)
        if not ids:
            return
        try:
            if not self._started:
                await self._declare()
            async with self._redis.pipeline(transaction=False) as pipe:
                for start in range(0, len(ids), KICK_BATCH):
                    message = task_message(ids[start : start + KICK_BATCH])
                    pipe.xadd(
                        self._stream, {b"data": message}, maxlen=STREAM_MAXLEN, approximate=True
                    )
                await asyncio.wait_for(pipe.execute(), KICK_TIMEOUT_S)
        except (OSError, RedisError, TimeoutError) as exc:
            _LOGGER.warning(
                "could not kick %d deliveries (%s); the reconciler will",
                len(ids),
                type(exc).__name__,
            )

    async def _declare(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, CONSUMER_GROUP, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._started = True


@asynccontextmanager
async def running_producer(
    settings: Settings, redis: Redis | None = None
) -> AsyncIterator[Producer]:
    """A started producer on `redis` (default: its own single connection), stopped on exit."""
    producer = Producer(settings, redis)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
