"""Honest answers during outages: with Redis or PostgreSQL stopped, the gateway answers within a
second with 503 `dependency_unavailable` naming the dependency (REST: problem+json with
Retry-After; gRPC: UNAVAILABLE with the code in trailing metadata), never 500, and what needs only
PostgreSQL keeps working while Redis is down."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import grpc
import grpc.aio
import pytest

from tests.faults.conftest import Servers
from tests.gateway.conftest import GRPC_AUTH, Api
from wamesh.gateway.api import Operation
from wamesh.gateway.app import RunningGateway
from wamesh.gateway.rest import operations
from wamesh.rpc.errors import CODE_METADATA, DEPENDENCY_METADATA
from wamesh.v1 import admin_pb2, admin_pb2_grpc, session_pb2, session_pb2_grpc

PROMISED_S = 1.0
SEND = {"to": "+15551234567", "text": "hello"}
# A valid body for the operations whose handler should meet the outage (others may be refused
# as 400 first, which is also an honest answer).
BODIES: dict[str, Any] = {
    "create_session": {"name": "line"},
    "send_message": SEND,
    "create_reminder": {"recipient": SEND["to"], "text": "later", "delay_seconds": 60},
    "redeliver_failed": {"since": "2026-01-01T00:00:00Z"},
}
PATH_VALUES = {
    "contact": "15551234567",
    "chat_id": "15551234567@s.whatsapp.net",
    "group_id": "120363000000000000@g.us",
    "message_id": "3EB0C767D26A1D0F4A5B",
}


async def create_line(api: Api) -> str:
    status, reply = await api.call("POST", "/v1/sessions", {"name": "outage"})
    assert status == 201, reply
    return str(reply["session"]["id"])


async def timed(api: Api, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
    started = time.monotonic()
    status, reply = await api.call(method, path, body)
    return status, reply, time.monotonic() - started


def assert_dependency_unavailable(status: int, reply: Any, dependency: str) -> None:
    assert status == 503, reply
    assert reply["code"] == "dependency_unavailable", reply
    assert reply["dependency"] == dependency, reply


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


class TestRedisDown:
    """Lines live in PostgreSQL: they are still read while Redis is down; what needs Redis (a
    routed call finds its worker there) answers 503 naming Redis within a second."""

    async def test_a_line_is_answered_from_postgresql(self, api: Api, servers: Servers) -> None:
        line = await create_line(api)
        servers.redis.stop()
        slowest = 0.0
        for path in (f"/v1/sessions/{line}", "/v1/sessions", f"/v1/sessions/{line}/reminders"):
            status, reply, elapsed = await timed(api, "GET", path)
            assert status == 200, (path, reply)
            assert elapsed < PROMISED_S, path
            slowest = max(slowest, elapsed)
        print(f"\nRedis down: a line, the lines, its reminders: 200, slowest {slowest:.3f} s")
        status, reply = await api.call("GET", f"/v1/sessions/{line}")
        assert (reply["id"], reply["worker"], reply["live_status"]) == (line, None, None)
        status, reply = await api.call("GET", f"/v1/sessions/{line}/deliveries")
        assert status == 200, reply

    async def test_a_routed_call_answers_503_naming_redis_within_a_second(
        self, api: Api, servers: Servers, caplog: pytest.LogCaptureFixture
    ) -> None:
        line = await create_line(api)
        servers.redis.stop()
        took = []
        for _ in range(3):
            started = time.monotonic()
            async with api.http.post(
                f"{api.base}/v1/sessions/{line}/messages", json=SEND, headers=api.headers
            ) as resp:
                elapsed = time.monotonic() - started
                assert resp.content_type == "application/problem+json"
                assert int(resp.headers["Retry-After"]) > 0
                assert_dependency_unavailable(resp.status, await resp.json(), "redis")
            assert elapsed < PROMISED_S
            took.append(elapsed)
        print(f"\nRedis down: a routed send 503 redis in {max(took):.3f} s at most")
        assert no_tracebacks(caplog) == []

    async def test_grpc_answers_unavailable_with_the_code(
        self, gateway: RunningGateway, api: Api, servers: Servers
    ) -> None:
        line = await create_line(api)
        servers.redis.stop()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
            stub = session_pb2_grpc.SessionServiceStub(channel)
            request = session_pb2.SendMessageRequest(session_id=line, to="15551234567", text="x")
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.SendMessage(request, metadata=GRPC_AUTH, timeout=PROMISED_S)
            admin = admin_pb2_grpc.SessionAdminServiceStub(channel)
            got = await admin.GetSession(
                admin_pb2.GetSessionRequest(session_id=line), metadata=GRPC_AUTH
            )
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        trailers = dict(raised.value.trailing_metadata() or ())
        assert trailers[CODE_METADATA] == "dependency_unavailable"
        assert trailers[DEPENDENCY_METADATA] == "redis"
        assert got.id == line


def _path(op: Operation, line: str) -> str:
    values = {"id": line, **PATH_VALUES}
    return op.path.format(**{p: values.get(p, str(uuid.uuid4())) for p in op.path_params})


class TestPostgresDown:
    """Every route answers within a second, never 500; what reads PostgreSQL answers 503 naming
    it; gRPC answers UNAVAILABLE with the code."""

    async def test_every_route_answers_within_a_second_and_never_500(
        self, api: Api, servers: Servers, caplog: pytest.LogCaptureFixture
    ) -> None:
        line = await create_line(api)
        servers.postgres.stop()
        slow, wrong, took = [], [], []
        for op in operations():
            body = BODIES.get(op.operation_id, {} if op.body is not None else None)
            if op.raw_body:
                body = None
            status, reply, elapsed = await timed(api, op.method, _path(op, line), body)
            name = f"{op.method} {op.path}"
            took.append(elapsed)
            if elapsed >= PROMISED_S:
                slow.append(f"{name}: {elapsed:.2f} s")
            refused_first = op.body is not None and op.operation_id not in BODIES
            honest = status == 503 and reply.get("dependency") == "postgresql"
            if op.public:
                honest = status < 500 or status == 503
            elif refused_first:
                honest = honest or status == 400
            if not honest:
                wrong.append(f"{name}: {status} {reply!r:.200}")
        print(
            f"\nPostgreSQL down: {len(took)} routes, slowest {max(took):.3f} s, "
            f"{len(wrong)} not 503 postgresql"
        )
        assert slow == []
        assert wrong == []
        assert no_tracebacks(caplog) == []

    async def test_grpc_answers_unavailable_with_the_code(
        self, gateway: RunningGateway, api: Api, servers: Servers
    ) -> None:
        line = await create_line(api)
        servers.postgres.stop()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
            admin = admin_pb2_grpc.SessionAdminServiceStub(channel)
            for _ in range(2):  # the pool's broken connection first, then the bounded wait
                started = time.monotonic()
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await admin.GetSession(
                        admin_pb2.GetSessionRequest(session_id=line), metadata=GRPC_AUTH
                    )
                assert time.monotonic() - started < PROMISED_S
                assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
                trailers = dict(raised.value.trailing_metadata() or ())
                assert trailers[CODE_METADATA] == "dependency_unavailable"
                assert trailers[DEPENDENCY_METADATA] == "postgresql"
