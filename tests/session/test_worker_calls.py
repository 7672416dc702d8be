"""SessionService and SandboxService calls on a running worker: events, logout, restart, auth."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.session.conftest import SpawnWorker, Stubs
from tests.session.test_worker_lifecycle import _outbox, _pair, _row, _wait_status
from wamesh.v1 import common_pb2, session_pb2


def _auth_rows(database_url: str, session_id: str) -> list[tuple[int, bytes]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT generation, state FROM wamesh.session_auth WHERE session_id = %s", (session_id,)
        ).fetchall()


class TestEvents:
    """Inbound messages, acks and disconnects become events for streams and webhooks."""

    async def test_inbound_message_streams_and_is_outboxed(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        stream = stubs.session.StreamEvents(
            session_pb2.StreamEventsRequest(session_id=line, types=["message.received"])
        )
        await asyncio.sleep(0.2)
        await stubs.sandbox.InjectInbound(
            session_pb2.InjectInboundRequest(
                session_id=line, text="hi there", **{"from": "+15551234567"}
            )
        )
        event = await asyncio.wait_for(stream.read(), timeout=5)
        stream.cancel()
        assert event.type == "message.received"
        assert event.message.text == "hi there"
        assert getattr(event.message, "from") == "15551234567@s.whatsapp.net"
        received = [p for t, p in _outbox(database_url, line) if t == "message.received"]
        assert len(received) == 1
        assert received[0]["id"] == event.id

    async def test_webhook_filter_limits_outbox_rows(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line(webhook_events=["message.received"])
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        await stubs.sandbox.InjectInbound(
            session_pb2.InjectInboundRequest(session_id=line, text="x", **{"from": "15551234567"})
        )
        await asyncio.sleep(0.3)
        assert [t for t, _ in _outbox(database_url, line)] == ["message.received"]

    async def test_phone_disconnect_then_reconnect(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        reply = await stubs.sandbox.PhoneDisconnect(
            session_pb2.PhoneDisconnectRequest(session_id=line, logout=False)
        )
        assert reply.status == common_pb2.SESSION_STATUS_DISCONNECTED
        await _wait_status(stubs, line, common_pb2.SESSION_STATUS_READY)
        statuses = [
            p["data"]["status"] for t, p in _outbox(database_url, line) if t == "session.status"
        ]  # type: ignore[index]
        assert statuses[-2:] == ["disconnected", "ready"]


class TestLogoutAndRestart:
    """Logout purges auth state; restart brings the engine back."""

    async def test_logout_purges_auth_state_and_reports_logged_out(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        assert _auth_rows(database_url, line)
        reply = await stubs.session.Logout(session_pb2.LogoutRequest(session_id=line))
        assert reply.status == common_pb2.SESSION_STATUS_LOGGED_OUT
        assert _auth_rows(database_url, line) == []
        row = _row(database_url, line)
        assert (row["status"], row["me"]) == ("logged_out", None)

    async def test_phone_side_logout_purges_auth_state(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        reply = await stubs.sandbox.PhoneDisconnect(
            session_pb2.PhoneDisconnectRequest(session_id=line, logout=True)
        )
        assert reply.status == common_pb2.SESSION_STATUS_LOGGED_OUT
        assert _auth_rows(database_url, line) == []

    async def test_restart_after_logout_shows_a_new_qr(
        self, make_line: Callable[..., str], spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        await stubs.session.Logout(session_pb2.LogoutRequest(session_id=line))
        await stubs.session.Restart(session_pb2.RestartRequest(session_id=line))
        await _wait_status(stubs, line, common_pb2.SESSION_STATUS_QR)

    async def test_restart_of_a_paired_line_returns_to_ready(
        self, make_line: Callable[..., str], spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        await stubs.session.Restart(session_pb2.RestartRequest(session_id=line))
        await _wait_status(stubs, line, common_pb2.SESSION_STATUS_READY)


class TestAuthStateAtRest:
    """Auth state is stored encrypted and needs the right key."""

    async def test_stored_state_is_not_plaintext(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line).wait_registered())
        await _pair(stubs, line)
        ((generation, state),) = _auth_rows(database_url, line)
        assert generation >= 1
        assert b"token" not in bytes(state)
        assert line.encode() not in bytes(state)

    async def test_a_wrong_key_means_a_new_qr_not_a_crash(
        self, make_line: Callable[..., str], spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        line = make_line()
        first = spawn(line)
        stubs = connect(first.wait_registered())
        await _pair(stubs, line)
        first.kill()
        await asyncio.sleep(1.7)
        second = spawn(line, WAMESH_AUTH_KEY="another-key")
        stubs = connect(second.wait_registered())
        await _wait_status(stubs, line, common_pb2.SESSION_STATUS_QR)
        assert "does not decrypt" in second.output()

    async def test_missing_auth_key_outside_dev_mode_is_a_clear_error(
        self, make_line: Callable[..., str], spawn: SpawnWorker
    ) -> None:
        worker = spawn(make_line(), WAMESH_AUTH_KEY="")
        assert worker.wait(timeout=30) == 2
        assert "WAMESH_AUTH_KEY is required" in worker.output()
        assert "test-auth-key" not in worker.output()


class TestMeshToken:
    """With WAMESH_MESH_TOKEN set, calls need it; health stays open."""

    async def test_calls_without_the_token_are_unauthenticated(
        self, make_line: Callable[..., str], spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line, WAMESH_MESH_TOKEN="mesh-secret").wait_registered())
        request = session_pb2.GetStatusRequest(session_id=line)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.session.GetStatus(request)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError):
            await stubs.session.GetStatus(request, metadata=(("x-wamesh-mesh-token", "wrong"),))
        reply = await stubs.session.GetStatus(
            request, metadata=(("x-wamesh-mesh-token", "mesh-secret"),)
        )
        assert reply.session_id == line
        health = health_pb2_grpc.HealthStub(stubs.channel)
        check = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert check.status == health_pb2.HealthCheckResponse.SERVING
