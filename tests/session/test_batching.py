"""Plain events are recorded in batches of what is waiting: in order, none lost, bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest

from tests.support.session_fixtures import SpawnWorker, Stubs
from wamesh.session.batching import batches
from wamesh.v1 import common_pb2, session_pb2


async def _numbers(count: int, fail_at: int | None = None) -> AsyncIterator[int]:
    for n in range(count):
        if n == fail_at:
            raise RuntimeError("source broke")
        yield n
        if n % 10 == 0:
            await asyncio.sleep(0)


class TestBatches:
    """Batches hold what arrived while the consumer was busy, in order, at most `limit`."""

    async def test_a_slow_consumer_gets_bigger_batches_in_order(self) -> None:
        seen: list[list[int]] = []
        async for batch in batches(_numbers(1000), 64):
            seen.append(batch)
            await asyncio.sleep(0.001)
        assert [n for batch in seen for n in batch] == list(range(1000))
        assert max(len(b) for b in seen) == 64
        assert len(seen) < 100

    async def test_an_error_of_the_source_surfaces_after_what_came_before(self) -> None:
        seen: list[int] = []

        async def consume() -> None:
            async for batch in batches(_numbers(100, fail_at=50), 8):
                seen.extend(batch)

        with pytest.raises(RuntimeError, match="source broke"):
            await consume()
        assert seen == list(range(50))


class TestLineRecordsInBatches:
    """A burst of inbound messages: every one in the outbox once, in the order they arrived."""

    async def test_a_burst_lands_whole_and_in_order(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line(webhook_events=["message.received"])
        stubs = connect(spawn(line).wait_registered())
        async with asyncio.timeout(20):
            while True:
                status = (
                    await stubs.session.GetStatus(session_pb2.GetStatusRequest(session_id=line))
                ).status
                if status == common_pb2.SESSION_STATUS_READY:
                    break
                if status == common_pb2.SESSION_STATUS_QR:
                    await stubs.sandbox.Scan(session_pb2.ScanRequest(session_id=line))
                await asyncio.sleep(0.05)
        for n in range(400):  # one after another: the order they arrive in is known
            inbound = session_pb2.InjectInboundRequest(session_id=line, text=f"b{n:04d}")
            setattr(inbound, "from", "15550002222")  # `from` is a Python keyword
            await stubs.sandbox.InjectInbound(inbound)
        async with asyncio.timeout(20):
            while len(rows := _received(database_url, line)) < 400:
                await asyncio.sleep(0.1)
        assert rows == [f"b{n:04d}" for n in range(400)]


def _received(database_url: str, line: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT payload->'data'->>'text' FROM wamesh.webhook_deliveries WHERE session_id = %s "
            "AND event_type = 'message.received' ORDER BY payload->>'timestamp', ctid",
            (line,),
        ).fetchall()
    return [str(r[0]) for r in found]
