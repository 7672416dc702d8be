"""A line's writes wait out a PostgreSQL outage calmly: the events that arrive meanwhile reach the
outbox once PostgreSQL is back, and the worker says so once, not once per retry."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc.aio
import psycopg

from tests.faults.conftest import Servers
from tests.support.workers import create_line, spawn_worker, worker_env, worker_processes
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc

# The line's writes retry every second at most (the pool answers at once while PostgreSQL is
# away): an outage this long holds many retries, and the log still says it once.
OUTAGE_S = 25.0
MESSAGES = 3
UNAVAILABLE = "database unavailable"


def _received(database_url: str, line: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM wamesh.webhook_deliveries "
            "WHERE session_id = %s AND event_type = 'message.received'",
            (line,),
        ).fetchone()
    return int(row[0]) if row else 0


async def _ready(channel: grpc.aio.Channel, line: str) -> None:
    session = session_pb2_grpc.SessionServiceStub(channel)
    sandbox = session_pb2_grpc.SandboxServiceStub(channel)
    async with asyncio.timeout(20):
        while True:
            request = session_pb2.GetStatusRequest(session_id=line)
            status = (await session.GetStatus(request)).status
            if status == common_pb2.SESSION_STATUS_READY:
                return
            if status == common_pb2.SESSION_STATUS_QR:
                await sandbox.Scan(session_pb2.ScanRequest(session_id=line))
            await asyncio.sleep(0.05)


async def _inject(channel: grpc.aio.Channel, line: str, count: int) -> None:
    sandbox = session_pb2_grpc.SandboxServiceStub(channel)
    for n in range(count):
        request = session_pb2.InjectInboundRequest(session_id=line, text=f"during outage {n}")
        setattr(request, "from", "15557654321")  # `from` is a Python keyword
        await sandbox.InjectInbound(request)


class TestPostgresOutageUnderALine:
    """Events written after the outage, the outage logged once and its end once."""

    async def test_events_wait_and_the_outage_is_said_once(
        self, servers: Servers, tmp_path: Path
    ) -> None:
        line = create_line(servers.database_url)
        env = worker_env(servers.database_url, servers.redis.url, tmp_path)
        with worker_processes() as spawned:
            worker = spawn_worker(line, env, tmp_path / "logs")
            spawned.append(worker)
            address = worker.wait_registered()
            async with grpc.aio.insecure_channel(address) as channel:
                await _ready(channel, line)
                servers.postgres.stop()
                await _inject(channel, line, MESSAGES)
                await asyncio.sleep(OUTAGE_S)
                servers.postgres.start()
            deadline = time.monotonic() + 60
            while _received(servers.database_url, line) < MESSAGES:
                assert time.monotonic() < deadline, worker.output()
                await asyncio.sleep(0.2)
            log = worker.output()
        assert _received(servers.database_url, line) == MESSAGES
        assert log.count(UNAVAILABLE) == 1, log
        assert log.count("database reachable again; the line's writes resumed") == 1, log
