"""The webhook worker process (`wamesh worker`).

It reads the stream (`consumer`: the consumer group taskiq-redis's RedisStreamBroker declares,
taskiq's message format) with WEBHOOK_CONCURRENCY attempts in flight, plus the reconciler, the
retry timers and the refresh of the lines it holds rows of (`holds`). On SIGTERM it stops
taking messages, waits up to SHUTDOWN_WAIT_S for attempts in flight, then exits; an attempt cut
short keeps its claim, which expires and is re-kicked by a reconciler, so nothing is lost.
`wamesh worker --processes N` runs N such processes (`processes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack

from redis.exceptions import RedisError

from wamesh.db.pool import open_role_pool
from wamesh.metrics_http import serving_metrics
from wamesh.process import install_stop_signals
from wamesh.redis_client import redis_client
from wamesh.settings import Settings
from wamesh.webhooks.consumer import StreamConsumer
from wamesh.webhooks.delivery import Deliverer, http_session
from wamesh.webhooks.holds import Holds
from wamesh.webhooks.producer import Producer, running_producer
from wamesh.webhooks.reconciler import reconcile_forever
from wamesh.webhooks.stream import HOLD_REFRESH_S

_LOGGER = logging.getLogger(__name__)
SHUTDOWN_WAIT_S = 20.0
STREAM_CONNECTIONS = 1  # the consumer's blocking read; kicks and holds share the producer's


class RetryTimers:
    """Kick a row again after a delay (best effort; the reconciler is the safety net)."""

    def __init__(self, kick: object) -> None:
        self._kick = kick
        self._handles: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, delivery_ids: list[str], delay_s: float) -> None:
        """Kick `delivery_ids` in `delay_s` seconds."""
        loop = asyncio.get_running_loop()
        handle = loop.call_later(delay_s, self._fire, delivery_ids)
        self._handles.add(handle)

    def _fire(self, delivery_ids: list[str]) -> None:
        task = asyncio.ensure_future(self._kick(delivery_ids))  # type: ignore[operator]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        """Drop pending timers (their rows stay due in PostgreSQL)."""
        for handle in self._handles:
            handle.cancel()


async def run_worker(
    settings: Settings, stop: asyncio.Event, on_metrics: Callable[[int], None] | None = None
) -> int:
    """Deliver until `stop` is set; `on_metrics` gets the metrics port once it listens."""
    async with (
        open_role_pool(settings, "webhooks") as pool,
        running_producer(settings) as producer,
        http_session(settings) as http,
        AsyncExitStack() as stack,
    ):
        timers = RetryTimers(producer.kick)
        deliverer = Deliverer(settings, pool, http, timers.schedule)
        metrics = await _serve_metrics(stack, settings, deliverer)
        if metrics is not None and on_metrics is not None:
            on_metrics(metrics)
        grace_s = settings.webhook_reconcile_grace_ms / 1000
        holds = Holds(producer.redis, settings.webhook_queue_name, sweep_s=grace_s + 1)
        reconciler = asyncio.create_task(
            reconcile_forever(
                pool,
                producer,
                settings.webhook_reconcile_interval_ms / 1000,
                grace_s,
                holds.held,
                deliverer.activity,
            )
        )
        holder = asyncio.create_task(hold_forever(holds, deliverer.lanes.held_lines))
        _LOGGER.info("webhook worker started", extra={"concurrency": settings.webhook_concurrency})
        try:
            await _receive_until(stop, settings, deliverer, producer)
            await deliverer.drain(SHUTDOWN_WAIT_S)
        finally:
            for task in (reconciler, holder):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            timers.cancel()
    _LOGGER.info("webhook worker stopped")
    return 0


async def _serve_metrics(
    stack: AsyncExitStack, settings: Settings, deliverer: Deliverer
) -> int | None:
    """Serve the worker's metrics on WAMESH_METRICS_PORT (when set); the bound port."""
    return await stack.enter_async_context(
        serving_metrics(deliverer.metrics.registry, settings.grpc_bind_host, settings.metrics_port)
    )


async def hold_forever(holds: Holds, lines: Callable[[], list[str]]) -> None:
    """Refresh the holds of the lines whose rows wait here, every HOLD_REFRESH_S."""
    while True:
        # While Redis is away the reconciler cannot kick either.
        with contextlib.suppress(OSError, RedisError):
            await holds.hold(lines())
        await asyncio.sleep(HOLD_REFRESH_S)


async def _receive_until(
    stop: asyncio.Event, settings: Settings, deliverer: Deliverer, producer: Producer
) -> None:
    """Read the stream until `stop` (the read under way is cancelled: what it held stays pending
    in the group and its rows in PostgreSQL)."""
    redis = redis_client(settings, STREAM_CONNECTIONS, "wamesh-webhooks")
    consumer = StreamConsumer(settings, redis, deliverer.deliver)
    reading = asyncio.create_task(consumer.run(stop, producer.recreate_group))
    try:
        await stop.wait()
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await consumer.leave()
        await redis.aclose()


async def main(settings: Settings) -> int:
    """The process: stop on SIGTERM/SIGINT."""
    stop = asyncio.Event()
    install_stop_signals(stop)
    return await run_worker(settings, stop)
