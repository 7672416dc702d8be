"""A session worker process end to end: QR -> scan -> ready, send, crash, restart, refusal, stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import grpc
import psycopg
import pytest

from tests.session.conftest import SpawnWorker, Stubs
from wamesh.v1 import common_pb2, session_pb2

READY = common_pb2.SESSION_STATUS_READY


def _row(database_url: str, session_id: str) -> dict[str, object]:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        row = conn.execute("SELECT * FROM wamesh.sessions WHERE id = %s", (session_id,)).fetchone()
    assert row is not None
    return row


def _outbox(database_url: str, session_id: str) -> list[tuple[str, dict[str, object]]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT event_type, payload FROM wamesh.webhook_deliveries "
            "WHERE session_id = %s ORDER BY created_at",
            (session_id,),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


async def _wait_status(
    stubs: Stubs, session_id: str, status: int, timeout: float = 15
) -> session_pb2.GetStatusResponse:
    async with asyncio.timeout(timeout):
        while True:
            reply = await stubs.session.GetStatus(
                session_pb2.GetStatusRequest(session_id=session_id)
            )
            if reply.status == status:
                return reply
            await asyncio.sleep(0.05)


async def _pair(stubs: Stubs, session_id: str) -> str:
    await _wait_status(stubs, session_id, common_pb2.SESSION_STATUS_QR)
    reply = await stubs.sandbox.Scan(session_pb2.ScanRequest(session_id=session_id))
    assert reply.status == READY
    return reply.me


class TestPairing:
    """A new line shows a QR, pairs by scan, and records each status in its row and outbox."""

    async def test_qr_then_scan_then_ready_is_written_and_outboxed(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        worker = spawn(line)
        stubs = connect(worker.wait_registered())
        status = await _wait_status(stubs, line, common_pb2.SESSION_STATUS_QR)
        row = _row(database_url, line)
        assert row["status"] == "qr"
        assert row["qr"] == status.qr
        assert row["qr_expires_at"] is not None
        me = await _pair(stubs, line)
        row = _row(database_url, line)
        assert (row["status"], row["me"], row["qr"]) == ("ready", me, None)
        types = [(t, p["data"].get("status")) for t, p in _outbox(database_url, line)]  # type: ignore[union-attr]
        assert types[:3] == [
            ("session.status", "starting"),
            ("session.status", "qr"),
            ("session.qr", None),
        ]
        assert types[-1] == ("session.status", "ready")
        envelope = _outbox(database_url, line)[-1][1]
        assert set(envelope) == {"id", "type", "session_id", "timestamp", "data"}
        assert envelope["session_id"] == line

    async def test_qr_rotates_and_the_line_fails_after_the_last_rotation(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        worker = spawn(
            line, WAMESH_SANDBOX_QR_INTERVAL_S="0.3", WAMESH_SANDBOX_QR_MAX_ROTATIONS="3"
        )
        stubs = connect(worker.wait_registered())
        codes, others = [], []
        async for update in stubs.session.StreamQr(session_pb2.StreamQrRequest(session_id=line)):
            if update.status == common_pb2.SESSION_STATUS_QR:
                codes.append(update.qr.code)
            elif update.status != common_pb2.SESSION_STATUS_STARTING:  # registered before its QR
                others.append(update.status)
        assert others == [common_pb2.SESSION_STATUS_FAILED]
        assert len(set(codes)) == 3
        row = _row(database_url, line)
        assert row["status"] == "failed"
        assert "QR code not scanned after 3 rotations" in str(row["last_error"])

    async def test_stream_qr_ends_with_ready_after_a_scan(
        self, make_line: Callable[..., str], spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        stream = stubs.session.StreamQr(session_pb2.StreamQrRequest(session_id=line))
        first = await stream.read()
        assert first.status in (common_pb2.SESSION_STATUS_QR, common_pb2.SESSION_STATUS_STARTING)
        await _pair(stubs, line)
        statuses = []
        while (update := await stream.read()) != grpc.aio.EOF:
            statuses.append(update.status)
        assert statuses[-1] == READY


class TestSending:
    """Sends go out once per client message id and only when ready."""

    async def test_same_client_message_id_twice_sends_once(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        request = session_pb2.SendMessageRequest(
            session_id=line, to="+49 151 2345 6789", text="hello", client_message_id="order-17"
        )
        first = await stubs.session.SendMessage(request)
        second = await stubs.session.SendMessage(request)
        assert first.chat_id == "4915123456789@s.whatsapp.net"
        assert (first.duplicate, second.duplicate) == (False, True)
        assert second.message_id == first.message_id
        sent = await stubs.sandbox.ListSent(session_pb2.ListSentRequest(session_id=line))
        assert [m.text for m in sent.messages] == ["hello"]
        await asyncio.sleep(0.3)
        types = [t for t, _ in _outbox(database_url, line)]
        assert types.count("message.sent") == 1
        assert types.count("message.ack") == 3

    async def test_send_before_ready_is_failed_precondition_with_the_status(
        self, make_line: Callable[..., str], spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _wait_status(stubs, line, common_pb2.SESSION_STATUS_QR)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.session.SendMessage(
                session_pb2.SendMessageRequest(session_id=line, to="4915100000000", text="x")
            )
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "status: qr" in (caught.value.details() or "")

    async def test_bad_recipient_is_invalid_argument(
        self, make_line: Callable[..., str], spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.session.SendMessage(
                session_pb2.SendMessageRequest(session_id=line, to="bob", text="x")
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    async def test_another_lines_id_is_rejected(
        self, make_line: Callable[..., str], spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        line, other = make_line(), make_line()
        stubs = connect(spawn(line).wait_registered())
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.session.GetStatus(session_pb2.GetStatusRequest(session_id=other))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


class TestCrashAndRestart:
    """A killed worker's lease expires; its successor restores auth state from PostgreSQL."""

    async def test_sigkill_then_new_worker_is_ready_without_qr_at_a_new_address(
        self,
        database_url: str,
        redis_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        import redis.asyncio

        line = make_line()
        first = spawn(line)
        stubs = connect(first.wait_registered())
        await _pair(stubs, line)
        first.kill()
        client = redis.asyncio.Redis.from_url(redis_url)
        async with asyncio.timeout(5):
            while await client.exists(f"wamesh:worker:{line}"):
                await asyncio.sleep(0.1)
        await client.aclose()
        second = spawn(line)
        address = second.wait_registered()
        assert address != first.address
        stubs = connect(address)
        reply = await _wait_status(stubs, line, READY)
        assert reply.me
        statuses = [
            p["data"]["status"] for t, p in _outbox(database_url, line) if t == "session.status"
        ]  # type: ignore[index]
        assert statuses[-2:] == ["starting", "ready"]


class TestLease:
    """One worker per line: a second refuses, a usurped one stops."""

    async def test_second_worker_for_a_served_line_refuses_naming_the_holder(
        self, make_line: Callable[..., str], spawn: SpawnWorker
    ) -> None:
        line = make_line()
        first = spawn(line)
        first.wait_registered()
        second = spawn(line)
        assert second.wait(timeout=30) != 0
        assert f"pid {first.proc.pid}" in second.output()
        assert "refusing to start" in second.output()

    async def test_worker_whose_lease_is_taken_stops_without_writing_status(
        self,
        database_url: str,
        redis_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        import redis.asyncio

        line = make_line()
        worker = spawn(line)
        stubs = connect(worker.wait_registered())
        await _pair(stubs, line)
        client = redis.asyncio.Redis.from_url(redis_url)
        await client.set(f"wamesh:worker:{line}", '{"usurper": true}', px=60_000)
        await client.aclose()
        assert await asyncio.to_thread(worker.wait, 10) == 3
        assert _row(database_url, line)["status"] == "ready"

    async def test_unknown_line_exits_naming_the_id(self, spawn: SpawnWorker) -> None:
        missing = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
        worker = spawn(missing)
        assert worker.wait(timeout=30) != 0
        assert missing in worker.output()


class TestShutdown:
    """SIGTERM stops in order: status stopped, lease released, exit 0."""

    async def test_sigterm_writes_stopped_releases_the_lease_and_exits_zero(
        self,
        database_url: str,
        redis_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        import redis.asyncio

        line = make_line()
        worker = spawn(line)
        stubs = connect(worker.wait_registered())
        await _pair(stubs, line)
        worker.signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 20) == 0
        assert _row(database_url, line)["status"] == "stopped"
        client = redis.asyncio.Redis.from_url(redis_url)
        assert not await client.exists(f"wamesh:worker:{line}")
        await client.aclose()


class TestDeletedLine:
    """A worker whose line is deleted stops, non-zero, naming the line."""

    async def test_deleting_the_row_stops_the_worker(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        worker = spawn(
            line, WAMESH_SANDBOX_QR_INTERVAL_S="0.3", WAMESH_SANDBOX_QR_MAX_ROTATIONS="100"
        )
        stubs = connect(worker.wait_registered())
        await _wait_status(stubs, line, common_pb2.SESSION_STATUS_QR)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM wamesh.sessions WHERE id = %s", (line,))
        assert await asyncio.to_thread(worker.wait, 20) == 4
        assert line in worker.output()
