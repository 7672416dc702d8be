"""Kick committed outbox rows onto the webhook stream.

The webhook worker consumes the stream with taskiq (`wamesh.webhooks.broker`), but producing
needs none of it: a kick is one XADD of taskiq's JSON task message (`TaskiqMessage` of the
pinned taskiq 0.12.4: task id and name, labels, args, kwargs) under the field `data`, which is
what `RedisStreamBroker.kick` writes. Importing taskiq and pydantic cost every session worker
about 20 MiB of RSS (measured), one process per line; tests/webhooks/test_producer.py checks
that taskiq reads these messages as calls of the delivery task.

`start()` creates the stream and its consumer group (as the broker's startup does) before the
first kick: a group created later would skip earlier messages. A kick that cannot be sent (Redis
down, no free connection within KICK_TIMEOUT_S) is kept and sent again in the background as soon
as Redis answers (back-off RESEND_FIRST_S doubling to RESEND_MAX_S; one log line per outage), so
the caller never waits for it and the delivery waits only as long as Redis is away. Kept kicks are
bounded (UNSENT_MAX ids); the rows stay `pending` in PostgreSQL whatever happens here, and the
reconciler kicks them again if this process dies first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from wamesh.redis_client import redis_client
from wamesh.settings import Settings
from wamesh.webhooks.stream import CONSUMER_GROUP, DELIVER_TASK, STREAM_MAXLEN

_LOGGER = logging.getLogger(__name__)
KICK_TIMEOUT_S = 10.0
UNSENT_MAX = 100_000
RESEND_FIRST_S = 0.2
RESEND_MAX_S = 2.0
KICK_BATCH = 50  # ids per stream message: one claim query and one XADD/XACK per batch
RESEND_BATCH = KICK_BATCH * 20
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
        self._unsent: deque[str] = deque()
        self._resending = 0  # ids taken from `_unsent` by the send under way
        self._resender: asyncio.Task[None] | None = None

    @property
    def redis(self) -> Redis:
        """The producer's Redis client (the webhook worker's holds share its connection)."""
        return self._redis

    @property
    def unsent(self) -> int:
        """Kicked ids not sent yet (waiting for Redis, or being sent)."""
        return len(self._unsent) + self._resending

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
        """Stop resending and close the connection (unless it is the caller's)."""
        if self._resender is not None:
            self._resender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resender
        if self._owned:
            await self._redis.aclose()

    async def kick(self, delivery_ids: Sequence[str]) -> None:
        """Queue one attempt of each row (one round trip); never raises for Redis trouble: what
        cannot be sent now is sent when Redis answers."""
        ids = list(delivery_ids)
        if not ids:
            return
        if not self._unsent:  # else Redis is away: keep the order, the resender sends these too
            try:
                await self._send(ids)
                return
            except (OSError, RedisError, TimeoutError) as exc:
                _LOGGER.warning(
                    "could not kick %d deliveries (%s); sending them when Redis answers",
                    len(ids),
                    type(exc).__name__,
                )
        self._keep(ids)
        if self._resender is None or self._resender.done():
            self._resender = asyncio.create_task(self._resend(), name="webhook-kicks-resend")

    def _keep(self, ids: list[str]) -> None:
        self._unsent.extend(ids)
        while len(self._unsent) > UNSENT_MAX:  # the oldest are the reconciler's
            self._unsent.popleft()

    async def _send(self, ids: list[str]) -> None:
        if not self._started:
            await self._declare()
        async with self._redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(ids), KICK_BATCH):
                message = task_message(ids[start : start + KICK_BATCH])
                pipe.xadd(self._stream, {b"data": message}, maxlen=STREAM_MAXLEN, approximate=True)
            await asyncio.wait_for(pipe.execute(), KICK_TIMEOUT_S)

    async def _resend(self) -> None:
        """Send the kept kicks once Redis answers, oldest first."""
        delay = RESEND_FIRST_S
        while self._unsent:
            await asyncio.sleep(delay)
            batch = [self._unsent.popleft() for _ in range(min(len(self._unsent), RESEND_BATCH))]
            self._resending = len(batch)
            try:
                await self._send(batch)
            except (OSError, RedisError, TimeoutError):
                self._unsent.extendleft(reversed(batch))
                delay = min(RESEND_MAX_S, delay * 2)
                continue
            finally:
                self._resending = 0
            delay = 0.0 if self._unsent else RESEND_FIRST_S
        _LOGGER.info("kicks sent again; the webhook queue answers")

    async def recreate_group(self) -> None:
        """After Redis lost the stream (FLUSHALL, a restart without persistence): create the
        group at the stream's start, so kicks written since are read, not skipped."""
        await self._declare(start="0")

    async def _declare(self, start: str = "$") -> None:
        try:
            await self._redis.xgroup_create(self._stream, CONSUMER_GROUP, id=start, mkstream=True)
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
