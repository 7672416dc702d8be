"""Nothing is lost: a worker killed mid-POST, a Redis FLUSHALL, a SIGTERM, many events at once."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import redis.asyncio

from tests.webhooks.conftest import Receiver, WorkerProc, add_events, statuses, wait_statuses
from wamesh.db.pool import Pool
from wamesh.dev.servers import RedisServer
from wamesh.settings import Settings
from wamesh.webhooks.producer import running_producer


class TestCrashes:
    """A delivery survives its worker's death and Redis losing the stream."""

    async def test_sigkill_mid_post_then_a_new_worker_delivers_with_the_same_id(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        spawn_webhook_worker: Callable[..., WorkerProc],
        database_url: str,
    ) -> None:
        receiver.hold = asyncio.Event()
        line = line_for(receiver.url)
        first = spawn_webhook_worker(WEBHOOK_TIMEOUT_MS="1000")
        (delivery,) = await add_events(pool, line, 1)
        await receiver.wait_for(1, timeout=30)
        first.proc.kill()
        first.proc.wait(timeout=10)
        receiver.hold.set()
        assert statuses(database_url, [delivery]) == {delivery: "delivering"}
        spawn_webhook_worker(WEBHOOK_TIMEOUT_MS="1000")
        await wait_statuses(database_url, [delivery], "delivered", timeout=60)
        assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery}
        assert len(receiver.requests) >= 2

    async def test_flushall_with_deliveries_pending_loses_none(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        spawn_webhook_worker: Callable[..., WorkerProc],
        database_url: str,
        redis_url: str,
    ) -> None:
        line = line_for(receiver.url)
        settings = Settings.from_env({"REDIS_URL": redis_url})
        ids = await add_events(pool, line, 50)
        async with running_producer(settings) as producer:
            await producer.kick(ids)
        client = redis.asyncio.Redis.from_url(redis_url)
        await client.flushall()
        await client.aclose()
        spawn_webhook_worker()
        await wait_statuses(database_url, ids, "delivered", timeout=60)
        assert sorted({r.headers["webhook-id"] for r in receiver.requests}) == sorted(ids)

    async def test_many_events_across_a_worker_kill_none_lost(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        spawn_webhook_worker: Callable[..., WorkerProc],
        database_url: str,
        redis_url: str,
    ) -> None:
        lines = [line_for(receiver.url) for _ in range(3)]
        first = spawn_webhook_worker()
        settings = Settings.from_env({"REDIS_URL": redis_url})
        ids: list[str] = []
        async with running_producer(settings) as producer:
            for line in lines:
                batch = await add_events(pool, line, 100)
                await producer.kick(batch)
                ids += batch
        await receiver.wait_for(20, timeout=30)
        first.proc.kill()
        first.proc.wait(timeout=10)
        spawn_webhook_worker()
        await wait_statuses(database_url, ids, "delivered", timeout=90)
        assert {r.headers["webhook-id"] for r in receiver.requests} == set(ids)


class TestShutdown:
    """SIGTERM: the worker finishes what it holds and exits promptly."""

    async def test_idle_worker_exits_on_sigterm(
        self, spawn_webhook_worker: Callable[..., WorkerProc]
    ) -> None:
        worker = spawn_webhook_worker()
        await asyncio.sleep(2.0)
        started = time.monotonic()
        worker.proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.proc.wait, 15) == 0
        assert time.monotonic() - started < 10, worker.output()

    async def test_sigterm_finishes_the_delivery_in_flight(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        spawn_webhook_worker: Callable[..., WorkerProc],
        database_url: str,
    ) -> None:
        receiver.hold = asyncio.Event()
        line = line_for(receiver.url)
        worker = spawn_webhook_worker()
        (delivery,) = await add_events(pool, line, 1)
        await receiver.wait_for(1, timeout=30)
        worker.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        receiver.hold.set()
        assert await asyncio.to_thread(worker.proc.wait, 20) == 0
        assert statuses(database_url, [delivery]) == {delivery: "delivered"}


class TestSafety:
    """Private addresses are refused at connect time unless allowed; secrets stay out of logs."""

    async def test_private_address_is_refused_unless_allowed(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        spawn_webhook_worker: Callable[..., WorkerProc],
        database_url: str,
    ) -> None:
        line = line_for(receiver.url)
        worker = spawn_webhook_worker(WEBHOOK_ALLOW_PRIVATE="false", WEBHOOK_ATTEMPTS="2")
        (delivery,) = await add_events(pool, line, 1)
        await wait_statuses(database_url, [delivery], "failed", timeout=30)
        assert receiver.requests == []
        import psycopg

        with psycopg.connect(database_url) as conn:
            (error,) = conn.execute(
                "SELECT last_error FROM wamesh.webhook_deliveries WHERE id = %s", (delivery,)
            ).fetchone()  # type: ignore[misc]
        assert "not public" in error
        from tests.support.workers import LINE_SECRET

        assert LINE_SECRET not in worker.output()
        assert LINE_SECRET.removeprefix("whsec_") not in worker.output()


class TestRedisRestart:
    """Redis going away and coming back empty: the worker reconnects and delivers everything."""

    async def test_worker_survives_a_redis_restart(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        spawn_webhook_worker: Callable[..., WorkerProc],
        database_url: str,
        tmp_path: Path,
    ) -> None:
        own = RedisServer(tmp_path / "redis", durable=False)
        await asyncio.to_thread(own.start)
        try:
            line = line_for(receiver.url)
            worker = spawn_webhook_worker(REDIS_URL=own.url, WEBHOOK_TIMEOUT_MS="1000")
            first = await add_events(pool, line, 5)
            await wait_statuses(database_url, first, "delivered", timeout=30)
            await asyncio.to_thread(own.stop)
            later = await add_events(pool, line, 5)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(own.start)
            await wait_statuses(database_url, later, "delivered", timeout=60)
            assert worker.proc.poll() is None, worker.output()
            assert "reconnecting" in worker.output()
        finally:
            await asyncio.to_thread(own.stop)
