"""A line's desired state through REST and gRPC on a real gateway (PostgreSQL, Redis): start and
stop set it, `desired_at` moves only when it changes (a line keeps its place in the queue), an
unknown line is 404 / NOT_FOUND, and starting a line wakes an idle pool worker (a token on the
Redis wake list)."""

from __future__ import annotations

import grpc.aio
import psycopg
import pytest
import redis.asyncio

from tests.gateway.conftest import GRPC_AUTH, Api
from wamesh.constants import POOL_WAKE_KEY
from wamesh.v1 import admin_pb2, admin_pb2_grpc

MISSING = "00000000-0000-4000-8000-000000000000"


def _desired_at(database_url: str, line: str) -> object:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT desired_at FROM wamesh.sessions WHERE id = %s", (line,)
        ).fetchone()
    assert row is not None
    return row[0]


async def test_rest_start_and_stop(
    api: Api, database_url: str, redis_client: redis.asyncio.Redis
) -> None:
    status, created = await api.call("POST", "/v1/sessions", {"name": "switched"})
    assert status == 201
    line = created["session"]["id"]
    assert created["session"]["desired_state"] == "started"
    assert await redis_client.llen(POOL_WAKE_KEY) == 1  # creating a line wakes the pool

    status, stopped = await api.call("POST", f"/v1/sessions/{line}/stop")
    assert (status, stopped["desired_state"]) == (200, "stopped")
    since = _desired_at(database_url, line)
    status, again = await api.call("POST", f"/v1/sessions/{line}/stop")
    assert (status, again["desired_state"]) == (200, "stopped")
    assert _desired_at(database_url, line) == since  # unchanged state keeps its time

    status, started = await api.call("POST", f"/v1/sessions/{line}/start")
    assert (status, started["desired_state"]) == (200, "started")
    assert _desired_at(database_url, line) != since
    assert await redis_client.llen(POOL_WAKE_KEY) == 2
    status, shown = await api.call("GET", f"/v1/sessions/{line}")
    assert shown["desired_state"] == "started"

    status, problem = await api.call("POST", f"/v1/sessions/{MISSING}/start")
    assert (status, problem["code"]) == (404, "session_not_found")


async def test_grpc_start_and_stop(grpc_channel: grpc.aio.Channel) -> None:
    admin = admin_pb2_grpc.SessionAdminServiceStub(grpc_channel)
    created = await admin.CreateSession(
        admin_pb2.CreateSessionRequest(name="switched"), metadata=GRPC_AUTH
    )
    line = created.session.id
    assert created.session.desired_state == "started"
    stopped = await admin.StopSession(
        admin_pb2.StopSessionRequest(session_id=line), metadata=GRPC_AUTH
    )
    assert stopped.desired_state == "stopped"
    started = await admin.StartSession(
        admin_pb2.StartSessionRequest(session_id=line), metadata=GRPC_AUTH
    )
    assert started.desired_state == "started"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.StopSession(
            admin_pb2.StopSessionRequest(session_id=MISSING), metadata=GRPC_AUTH
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
