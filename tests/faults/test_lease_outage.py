"""Lines outlive a Redis outage: workers keep their engines through an outage longer than the
lease, refuse commands meanwhile (UNAVAILABLE) while events and status still reach PostgreSQL,
serve again within RECOVERY_PROMISE_S of Redis's return, and stop only when Redis shows that
another worker took their line."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import grpc
import psycopg
import pytest
import redis.asyncio
from google.protobuf import json_format

from tests.faults.lease_support import pair, send_request, send_when_served
from tests.session.conftest import Stubs
from tests.support.workers import (
    WorkerProcess,
    create_line,
    spawn_worker,
    worker_env,
    worker_processes,
)
from wamesh.constants import WORKER_KEY
from wamesh.dev.servers import RedisServer, free_port
from wamesh.registry import WorkerRecord
from wamesh.rpc.errors import CODE_METADATA, DEPENDENCY_METADATA
from wamesh.v1 import session_pb2

OUTAGE_S = 30.0
RECOVERY_PROMISE_S = 5.0
WORKERS = 3
TTL_MS = "1500"  # the outage lasts 20 leases


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, to stop and start again (empty) on the same port."""
    server = RedisServer(tmp_path / "redis", durable=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _inbound(line: str, text: str) -> session_pb2.InjectInboundRequest:
    fields = {"session_id": line, "text": text, "from": "15557654321"}  # `from`: a keyword
    return json_format.ParseDict(fields, session_pb2.InjectInboundRequest())


def _outbox_count(database_url: str, line: str, event_type: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM wamesh.webhook_deliveries WHERE session_id = %s AND event_type = %s",
            (line, event_type),
        ).fetchone()
    assert row is not None
    return int(row[0])


async def _refused(stubs: Stubs, line: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.session.SendMessage(send_request(line, "during the outage"), timeout=5)
    return caught.value


async def _start_paired(
    spawn: Callable[[str], WorkerProcess], connect: Callable[[str], Stubs], line: str
) -> tuple[WorkerProcess, Stubs]:
    worker = spawn(line)
    stubs = connect(await asyncio.to_thread(worker.wait_registered))
    await pair(stubs, line)
    return worker, stubs


class TestRedisDown:
    """Redis stopped for 30 s (twenty leases): every worker still runs afterwards and serves
    within 5 s of Redis's return; meanwhile commands answer UNAVAILABLE fast and inbound
    messages still become outbox rows in PostgreSQL."""

    async def test_every_worker_outlives_the_outage_and_serves_again(
        self,
        database_url: str,
        private_redis: RedisServer,
        tmp_path: Path,
        connect: Callable[[str], Stubs],
    ) -> None:
        env = worker_env(database_url, private_redis.url, tmp_path, WAMESH_LEASE_TTL_MS=TTL_MS)
        lines = [create_line(database_url) for _ in range(WORKERS)]
        with worker_processes() as spawned:

            def spawn(line: str) -> WorkerProcess:
                spawned.append(spawn_worker(line, env, tmp_path / "logs"))
                return spawned[-1]

            started = await asyncio.gather(*(_start_paired(spawn, connect, ln) for ln in lines))
            private_redis.stop()
            down_at = time.monotonic()
            await asyncio.sleep(2)  # past the first failed refresh
            for (_, stubs), line in zip(started, lines, strict=True):
                t0 = time.monotonic()
                refused = await _refused(stubs, line)
                assert refused.code() == grpc.StatusCode.UNAVAILABLE, refused
                assert time.monotonic() - t0 < 1.0
                trailers = dict(refused.trailing_metadata() or ())
                assert trailers[CODE_METADATA] == "dependency_unavailable"
                assert trailers[DEPENDENCY_METADATA] == "redis"
                before = _outbox_count(database_url, line, "message.received")
                await stubs.sandbox.InjectInbound(_inbound(line, "while Redis is down"))
                await _until_more(database_url, line, before)
            await asyncio.sleep(OUTAGE_S - (time.monotonic() - down_at))
            assert [w.proc.poll() for w, _ in started] == [None] * WORKERS, [
                w.output() for w, _ in started
            ]
            private_redis.start()
            recovery = await asyncio.gather(
                *(
                    send_when_served(stubs, line, RECOVERY_PROMISE_S * 2)
                    for (_, stubs), line in zip(started, lines, strict=True)
                )
            )
            assert [w.proc.poll() for w, _ in started] == [None] * WORKERS
            for worker, _ in started:
                assert "confirmed again after" in worker.output()
        print(
            f"\nRedis down {OUTAGE_S:.0f} s (lease {TTL_MS} ms): {WORKERS}/{WORKERS} workers "
            "still running; serving again after Redis returned (s): "
            + ", ".join(f"{s:.2f}" for s in recovery)
            + f"; max {max(recovery):.2f} (promise {RECOVERY_PROMISE_S:.0f} s)"
        )
        assert max(recovery) < RECOVERY_PROMISE_S


async def _until_more(database_url: str, line: str, count: int, timeout_s: float = 5.0) -> None:
    """Until the line has more than `count` message.received outbox rows."""
    async with asyncio.timeout(timeout_s):
        while _outbox_count(database_url, line, "message.received") <= count:
            await asyncio.sleep(0.05)


class Proxy:
    """A loopback TCP proxy to Redis that can be cut (connections dropped, new ones refused)
    and restored on the same port: one worker's own partition from Redis."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self._writers -= {writer, up_writer}


@pytest.fixture
async def proxy(private_redis: RedisServer) -> AsyncIterator[Proxy]:
    opened = Proxy(private_redis.port)
    await opened.restore()
    yield opened
    with contextlib.suppress(AssertionError):
        await opened.cut()


class TestCutOff:
    """A worker cut off from Redis while others reach it: it keeps running past its lease; a
    replacement takes the expired line; when the first worker reaches Redis again it finds the
    other record and stops (exit 3)."""

    async def test_the_cut_off_worker_stops_when_it_finds_its_line_taken(
        self,
        database_url: str,
        private_redis: RedisServer,
        proxy: Proxy,
        tmp_path: Path,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = create_line(database_url)
        direct = worker_env(database_url, private_redis.url, tmp_path, WAMESH_LEASE_TTL_MS=TTL_MS)
        proxied = {**direct, "REDIS_URL": proxy.url}
        with worker_processes() as spawned:
            first = spawn_worker(line, proxied, tmp_path / "logs")
            spawned.append(first)
            stubs = connect(await asyncio.to_thread(first.wait_registered))
            await pair(stubs, line)
            await proxy.cut()
            await asyncio.sleep(int(TTL_MS) / 1000 * 2)  # the lease has expired in Redis
            assert first.proc.poll() is None, first.output()
            refused = await _refused(stubs, line)
            assert refused.code() == grpc.StatusCode.UNAVAILABLE

            second = spawn_worker(line, direct, tmp_path / "logs")
            spawned.append(second)
            fresh = connect(await asyncio.to_thread(second.wait_registered))
            await send_when_served(fresh, line, 10, starting=True)
            assert first.proc.poll() is None  # still cut off: it cannot know yet

            await proxy.restore()
            restored_at = time.monotonic()
            code = await asyncio.to_thread(first.wait, 10)
            stopped_s = time.monotonic() - restored_at
            assert code == 3, first.output()
            assert "lost the lease" in first.output()
            client = redis.asyncio.Redis.from_url(private_redis.url)
            raw = await client.get(WORKER_KEY.format(session_id=line))
            await client.aclose()
            assert raw is not None
            assert WorkerRecord.decode(raw).pid == second.proc.pid
            await send_when_served(fresh, line, 5)
        print(f"\ncut-off worker stopped {stopped_s:.2f} s after reaching Redis again (exit 3)")
        assert stopped_s < 2.0
