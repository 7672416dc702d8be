"""Pairing by code in the session worker: the Line's rules, its events, and the error mappings.

Most tests run a `Line` in-process over the real database with the real sandbox engine; the
capability test uses a small QR-only engine, a stand-in for a WhatsApp engine without pairing
codes, served by a real gRPC server and reached through a real gateway.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import grpc
import grpc.aio
import psycopg
import pytest
from redis.asyncio import Redis

from tests.gateway.conftest import API_KEY, gateway_settings
from tests.session.conftest import SpawnWorker, Stubs
from tests.session.test_worker_lifecycle import _outbox, _wait_status
from wamesh.authstate import AuthStore, derive_key
from wamesh.db.pool import Pool
from wamesh.engines.base import Engine, EngineEvent, LoggedOut, Message, Qr
from wamesh.engines.sandbox import SandboxConfig, SandboxEngine
from wamesh.errors import AlreadyPaired, EngineError, InvalidInput, NotSupported
from wamesh.gateway.app import running_gateway
from wamesh.gateway.problems import from_error
from wamesh.registry import Lease, Registry, new_record
from wamesh.rpc.errors import from_rpc_error
from wamesh.rpc.server import serve
from wamesh.session.hub import Hub
from wamesh.session.line import Line
from wamesh.session.servicer import SessionServicer
from wamesh.session.store import LineStore
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc

PHONE = "+1 555-000-1111"


class QrOnlyEngine(Engine):
    """A stand-in for a WhatsApp engine that pairs by QR only (it is no `PairsByCode`)."""

    kind = "qr-only"

    def __init__(self) -> None:
        self._queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()

    async def start(self, auth_state: bytes | None) -> None:
        expires = datetime.now(UTC) + timedelta(seconds=60)
        self._queue.put_nowait(Qr("2@qr-only", expires, 1))

    async def stop(self) -> None:
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[EngineEvent]:
        while (event := await self._queue.get()) is not None:
            yield event

    async def send_text(self, chat_id: str, text: str, message_id: str) -> Message:
        raise EngineError("this stand-in sends nothing")

    async def logout(self) -> None:
        self._queue.put_nowait(LoggedOut("logged out by request"))

    async def export_auth_state(self) -> bytes | None:
        return None


@asynccontextmanager
async def running_line(
    pool: Pool, session_id: str, factory: Callable[[], Engine]
) -> AsyncIterator[Line]:
    """A started Line over the test database; stopped afterwards."""
    auth = AuthStore(pool, derive_key("test-auth-key"), session_id)
    line = Line(session_id, factory, LineStore(pool, session_id), auth, Hub())
    await line.start()
    try:
        yield line
    finally:
        await line.stop()


def _sandbox(tmp_path: Path, session_id: str) -> Callable[[], Engine]:
    return lambda: SandboxEngine(SandboxConfig(session_id, tmp_path / "sandbox"))


def _row(database_url: str, session_id: str) -> tuple[str, str | None]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT status, qr FROM wamesh.sessions WHERE id = %s", (session_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


class TestLineRules:
    """A line hands out codes only while it waits for pairing, and only for real phone numbers."""

    async def test_a_request_while_starting_waits_for_the_qr_then_gets_a_code(
        self, pool: Pool, make_line: Callable[..., str], tmp_path: Path
    ) -> None:
        line_id = make_line()
        async with running_line(pool, line_id, _sandbox(tmp_path, line_id)) as line:
            assert line.status == "starting"  # the engine's first QR is not handled yet
            pairing = await line.request_pairing_code(PHONE)
            assert line.status == "qr"
        assert pairing.phone == "15550001111"
        assert re.fullmatch(r"[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}", pairing.code)

    @pytest.mark.parametrize("phone", ["", "12345", "+1 (555) 0001111", "0049 151 12345678"])
    async def test_bad_phone_is_invalid_value_on_phone(
        self, pool: Pool, make_line: Callable[..., str], tmp_path: Path, phone: str
    ) -> None:
        line_id = make_line()
        async with running_line(pool, line_id, _sandbox(tmp_path, line_id)) as line:
            with pytest.raises(InvalidInput) as caught:
                await line.request_pairing_code(phone)
        assert (caught.value.code, caught.value.field) == ("invalid_value", "phone")

    async def test_a_paired_line_answers_already_paired(
        self, pool: Pool, make_line: Callable[..., str], tmp_path: Path
    ) -> None:
        line_id = make_line()
        async with running_line(pool, line_id, _sandbox(tmp_path, line_id)) as line:
            await line.wait_for({"qr"}, limit_s=10)
            assert isinstance(line.engine, SandboxEngine)
            line.engine.scan()
            await line.wait_for({"ready"}, limit_s=10)
            with pytest.raises(AlreadyPaired) as caught:
                await line.request_pairing_code(PHONE)
        assert (caught.value.code, caught.value.status) == ("already_paired", "ready")

    async def test_an_engine_without_the_capability_answers_not_supported(
        self, pool: Pool, make_line: Callable[..., str]
    ) -> None:
        line_id = make_line()
        async with running_line(pool, line_id, QrOnlyEngine) as line:
            await line.wait_for({"qr"}, limit_s=10)
            with pytest.raises(NotSupported) as caught:
                await line.request_pairing_code(PHONE)
        assert caught.value.message == "the qr-only engine does not support pairing codes"


class TestPairingCodeEvent:
    """The code goes out as `session.pairing_code` (subscribers and outbox), replaces the QR in
    the row, and never reaches the logs."""

    async def test_event_outbox_row_and_cleared_qr(
        self,
        pool: Pool,
        database_url: str,
        make_line: Callable[..., str],
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        line_id = make_line()
        async with running_line(pool, line_id, _sandbox(tmp_path, line_id)) as line:
            await line.wait_for({"qr"}, limit_s=10)
            assert _row(database_url, line_id)[1] is not None
            async with line.hub.subscribe() as events:
                pairing = await line.request_pairing_code(PHONE)
                event = await asyncio.wait_for(anext(aiter(events)), timeout=5)
            assert event.type == "session.pairing_code"
            assert event.data["code"] == pairing.code
            assert event.data["phone"] == "15550001111"
            assert event.data["expires_at"].endswith("Z")
            assert _row(database_url, line_id) == ("qr", None)
            assert line.qr is None
        rows = [p for t, p in _outbox(database_url, line_id) if t == "session.pairing_code"]
        assert [r["data"] for r in rows] == [event.data]  # type: ignore[index]
        assert pairing.code not in caplog.text
        assert "pairing code issued for a number ending in 1111" in caplog.text


class TestCapabilityThroughTheMesh:
    """An engine without pairing codes answers 501 not_supported over REST and UNIMPLEMENTED over
    gRPC, naming the engine, through a real gateway and a real worker gRPC server."""

    async def test_not_supported_is_501_and_unimplemented(
        self, pool: Pool, database_url: str, redis_url: str, make_line: Callable[..., str]
    ) -> None:
        line_id = make_line()
        redis = Redis.from_url(redis_url, decode_responses=True)
        async with running_line(pool, line_id, QrOnlyEngine) as line:

            def register(server: grpc.aio.Server, port: int) -> list[str]:
                servicer = SessionServicer(line, f"127.0.0.1:{port}", "qr-only", datetime.now(UTC))
                session_pb2_grpc.add_SessionServiceServicer_to_server(servicer, server)
                return []

            async with serve("127.0.0.1", 0, register, grace_s=0) as worker:
                address = f"127.0.0.1:{worker.port}"
                lease = Lease(Registry(redis, 15_000), new_record(line_id, address))
                await lease.start()
                try:
                    await line.wait_for({"qr"}, limit_s=10)
                    settings = gateway_settings(database_url, redis_url)
                    async with running_gateway(settings) as gateway:
                        await self._check(gateway.http_port, gateway.grpc_port, line_id)
                finally:
                    await lease.stop(release=True)
        await redis.aclose()

    async def _check(self, http_port: int, grpc_port: int, line_id: str) -> None:
        url = f"http://127.0.0.1:{http_port}/v1/sessions/{line_id}/pairing-code"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json={"phone": PHONE}, headers={"X-Api-Key": API_KEY}) as resp,
        ):
            problem = await resp.json(content_type=None)
        assert resp.status == 501, problem
        assert (problem["code"], problem["engine"]) == ("not_supported", "qr-only")
        assert problem["detail"] == "the qr-only engine does not support pairing codes"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await session_pb2_grpc.SessionServiceStub(channel).RequestPairingCode(
                    session_pb2.RequestPairingCodeRequest(session_id=line_id, phone=PHONE),
                    metadata=(("x-api-key", API_KEY),),
                )
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
        rebuilt = from_rpc_error(caught.value, line_id)
        assert isinstance(rebuilt, NotSupported)
        assert (rebuilt.engine, rebuilt.capability) == ("qr-only", "pairing codes")
        assert from_error(rebuilt).status == 501


class TestWorkerProcess:
    """A real worker process serves RequestPairingCode for its own line only and streams the
    typed event."""

    async def test_request_stream_and_enter_on_the_worker(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _wait_status(stubs, line, common_pb2.SESSION_STATUS_QR)
        stream = stubs.session.StreamEvents(
            session_pb2.StreamEventsRequest(session_id=line, types=["session.pairing_code"])
        )
        await asyncio.sleep(0.2)
        reply = await stubs.session.RequestPairingCode(
            session_pb2.RequestPairingCodeRequest(session_id=line, phone=PHONE)
        )
        event = await asyncio.wait_for(stream.read(), timeout=5)
        stream.cancel()
        assert event.pairing_code.code == reply.code
        assert event.pairing_code.phone == "15550001111"
        assert event.pairing_code.expires_at == reply.expires_at
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.session.RequestPairingCode(
                session_pb2.RequestPairingCodeRequest(session_id=make_line(), phone=PHONE)
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.session.RequestPairingCode(
                session_pb2.RequestPairingCodeRequest(session_id=line, phone="12")
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        trailers = dict(caught.value.trailing_metadata() or ())
        assert trailers["wamesh-error-field"] == "phone"
        paired = await stubs.sandbox.EnterPairingCode(
            session_pb2.EnterPairingCodeRequest(session_id=line, code=reply.code)
        )
        assert paired.status == common_pb2.SESSION_STATUS_READY
        assert _row(database_url, line) == ("ready", None)
