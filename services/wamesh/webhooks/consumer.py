"""Read kicks from the webhook stream: one XREADGROUP and one XACK per batch, however large.

The stream, its consumer group and its messages are taskiq-redis's (`RedisStreamBroker`): the
producer writes taskiq's task message, and a taskiq worker could still read them. We read them
ourselves because taskiq's Receiver cost more than the delivery it ran (measured at 10-100
events/s, README "Benchmarks": about 10 Redis commands per message, XACK one message at a time
and a locked XAUTOCLAIM after every read, plus a task and a pydantic parse per message).

Batching adapts to the arrival rate without a timer: a read returns as soon as one message is
there, and everything that arrived while the previous batch was being sorted comes back in the
next read (up to READ_COUNT messages), so an idle worker answers the first kick at once and a busy
one pays one round trip to Redis (the ack of the last batch and the next read, pipelined) and one
claim for a whole batch. The ack follows the claim (`submit` returns once its rows are claimed,
waiting for a place, or not claimable): a process that dies before it leaves its messages pending
in the group, and RECLAIM_EVERY_S another process takes
those older than `idle_timeout_ms` (XAUTOCLAIM); the reconciler re-kicks the rows long before.
Several processes share the stream as consumers of the one group: Redis gives each message to
one of them, and the claim in PostgreSQL makes a second kick of a row do nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from wamesh.settings import Settings
from wamesh.webhooks.stream import CONSUMER_GROUP

_LOGGER = logging.getLogger(__name__)
READ_COUNT = 200  # messages per read (each holds up to KICK_BATCH ids)
READ_BLOCK_MS = 5_000  # an idle read wakes this often (below the client's 10 s socket timeout)
RECLAIM_EVERY_S = 10.0
RECONNECT_S = 1.0

Submit = Callable[[list[str]], Awaitable[None]]


def idle_timeout_ms(settings: Settings) -> int:
    """Reclaim a stranded message only after any attempt would surely have ended."""
    return max(60_000, settings.webhook_timeout_ms * 3 + 30_000)


def delivery_ids(data: bytes) -> list[str]:
    """The ids of one task message (taskiq's JSON: the task's first argument); none when the
    message is not one of ours."""
    try:
        args = json.loads(data).get("args") or [[]]
    except (ValueError, AttributeError):
        return []
    first = args[0] if isinstance(args, list) and args else []
    return [str(i) for i in first] if isinstance(first, list) else []


class StreamConsumer:
    """One consumer of the group on the stream `settings.webhook_queue_name`."""

    def __init__(self, settings: Settings, redis: Redis, submit: Submit) -> None:
        self._stream = settings.webhook_queue_name
        self._redis = redis  # its own connection: a read blocks it
        self._submit = submit
        self._name = f"wamesh-{uuid.uuid4().hex}"
        self._idle_ms = idle_timeout_ms(settings)
        self._unacked: list[bytes] = []  # sorted messages, acked with the next read
        self.reads = 0  # counters for the benchmark and the stop log line
        self.messages = 0

    async def run(self, stop: asyncio.Event, on_lost_group: Callable[[], Awaitable[None]]) -> None:
        """Read, sort and ack until `stop`; when Redis goes away, keep trying to come back
        (attempts in flight go on; the reconciler re-kicks what Redis lost)."""
        next_reclaim = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                if loop.time() >= next_reclaim:
                    next_reclaim = loop.time() + RECLAIM_EVERY_S
                    await self._reclaim()
                await self._read_once()
            except (OSError, RedisError, TimeoutError) as exc:
                _LOGGER.warning("webhook stream unavailable (%s); reconnecting", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RECONNECT_S)
                with contextlib.suppress(OSError, RedisError):  # the group may be gone
                    await on_lost_group()

    async def _read_once(self) -> None:
        """Ack the last batch and read the next in one round trip."""
        acks, self._unacked = self._unacked, []
        async with self._redis.pipeline(transaction=False) as pipe:
            if acks:
                pipe.xack(self._stream, CONSUMER_GROUP, *acks)
            pipe.xreadgroup(
                CONSUMER_GROUP,
                self._name,
                {self._stream: ">"},
                count=READ_COUNT,
                block=READ_BLOCK_MS,
            )
            found = (await pipe.execute())[-1]
        self.reads += 1
        for _stream, messages in found or []:
            await self._handle(messages)

    async def _reclaim(self) -> None:
        """Take messages another consumer read and never acked (it died)."""
        found = await self._redis.xautoclaim(
            self._stream, CONSUMER_GROUP, self._name, self._idle_ms, count=READ_COUNT
        )
        if found and found[1]:
            _LOGGER.info("taking %d stranded webhook stream messages", len(found[1]))
            await self._handle(found[1])

    async def _handle(self, messages: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Sort every id of `messages` at once, then ack them all."""
        if not messages:
            return
        ids = [i for _, fields in messages for i in delivery_ids(fields.get(b"data", b""))]
        self.messages += len(messages)
        try:
            await self._submit(ids)
        except Exception:  # left unacked: the reconciler re-kicks the rows, XAUTOCLAIM the message
            _LOGGER.exception("could not sort %d kicked deliveries", len(ids))
            return
        self._unacked += [m for m, _ in messages]  # acked with the next read

    async def leave(self) -> None:
        """Remove this consumer from the group (on a clean stop; its last acks first)."""
        with contextlib.suppress(OSError, RedisError, TimeoutError):
            if self._unacked:
                await self._redis.xack(self._stream, CONSUMER_GROUP, *self._unacked)
            await self._redis.xgroup_delconsumer(self._stream, CONSUMER_GROUP, self._name)
