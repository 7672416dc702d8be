"""The gateway routes REST and gRPC calls to the line's worker and says clearly when none does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc.aio
import pytest

from tests.gateway.conftest import GRPC_AUTH, Api, scan, wait_live
from tests.support.workers import WorkerProcess
from wamesh.v1 import session_pb2, session_pb2_grpc


async def _create_line(api: Api, **body: object) -> tuple[str, str]:
    status, reply = await api.call("POST", "/v1/sessions", {"name": "line", **body})
    assert status == 201, reply
    return reply["session"]["id"], reply["webhook_secret"]


async def _paired_line(api: Api, spawn: Callable[..., WorkerProcess]) -> tuple[str, WorkerProcess]:
    line, _ = await _create_line(api)
    worker = spawn(line)
    worker.wait_registered()
    await scan(api, line)
    return line, worker


class TestRoutedCalls:
    """Calls reach the worker that owns the line, over REST and gRPC."""

    async def test_send_through_rest_and_grpc_both_reach_the_worker(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line, _ = await _paired_line(api, spawn)
        status, sent = await api.call(
            "POST", f"/v1/sessions/{line}/messages", {"to": "+4915112345678", "text": "rest"}
        )
        assert status == 201, sent
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        reply = await stub.SendMessage(
            session_pb2.SendMessageRequest(session_id=line, to="4915112345678", text="grpc"),
            metadata=GRPC_AUTH,
        )
        assert reply.message_id
        status, recorded = await api.call("GET", f"/v1/sessions/{line}/sandbox/sent")
        assert status == 200
        assert [m["text"] for m in recorded["messages"]] == ["rest", "grpc"]

    async def test_client_message_id_makes_rest_sends_idempotent(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line, _ = await _paired_line(api, spawn)
        body = {"to": "4915112345678", "text": "once", "client_message_id": "k-1"}
        first = await api.call("POST", f"/v1/sessions/{line}/messages", body)
        second = await api.call("POST", f"/v1/sessions/{line}/messages", body)
        assert (first[0], second[0]) == (201, 200)
        assert second[1]["duplicate"] is True
        assert second[1]["message_id"] == first[1]["message_id"]

    async def test_reused_client_message_id_with_other_content_is_409_on_both_fronts(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line, _ = await _paired_line(api, spawn)
        body = {"to": "4915112345678", "text": "first", "client_message_id": "k-2"}
        assert (await api.call("POST", f"/v1/sessions/{line}/messages", body))[0] == 201
        other = {**body, "text": "second"}
        status, problem = await api.call("POST", f"/v1/sessions/{line}/messages", other)
        assert (status, problem["code"]) == (409, "idempotency_conflict"), problem
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SendMessage(
                session_pb2.SendMessageRequest(
                    session_id=line, to="4915112345678", text="third", client_message_id="k-2"
                ),
                metadata=GRPC_AUTH,
            )
        assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
        trailers = dict(caught.value.trailing_metadata() or ())
        assert trailers["wamesh-error-code"] == "idempotency_conflict"
        status, recorded = await api.call("GET", f"/v1/sessions/{line}/sandbox/sent")
        assert [m["text"] for m in recorded["messages"]] == ["first"]  # nothing else was sent

    async def test_get_shows_the_live_worker(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line, worker = await _paired_line(api, spawn)
        status, reply = await api.call("GET", f"/v1/sessions/{line}")
        assert status == 200
        assert reply["worker"]["address"] == worker.address
        assert reply["worker"]["pid"] == worker.proc.pid
        assert reply["live_status"] == "ready"
        assert "webhook_secret" not in reply


class TestOffline:
    """No worker: 503 session_offline with the last status; a new worker is found by itself."""

    async def test_killed_worker_then_new_worker_on_another_port(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line, worker = await _paired_line(api, spawn)
        worker.kill()
        async with asyncio.timeout(10):
            while True:
                status, problem = await api.call(
                    "POST", f"/v1/sessions/{line}/messages", {"to": "4915112345678", "text": "x"}
                )
                if status == 503:
                    break
                await asyncio.sleep(0.2)
        assert problem["code"] == "session_offline"
        assert problem["session_status"] == "ready"
        async with api.http.get(f"{api.base}/v1/sessions/{line}/qr", headers=api.headers) as resp:
            assert resp.status == 503
            assert resp.headers["Retry-After"].isdigit()
        async with asyncio.timeout(10):  # the dead worker's lease runs out first
            while (await api.call("GET", f"/v1/sessions/{line}"))[1]["worker"] is not None:
                await asyncio.sleep(0.1)
        second = spawn(line)
        assert second.wait_registered() != worker.address
        await wait_live(api, line, "ready")
        status, _ = await api.call(
            "POST", f"/v1/sessions/{line}/messages", {"to": "4915112345678", "text": "back"}
        )
        assert status == 201

    async def test_line_without_a_worker_answers_503_with_its_status(self, api: Api) -> None:
        line, _ = await _create_line(api)
        status, problem = await api.call("POST", f"/v1/sessions/{line}/logout")
        assert status == 503
        assert (problem["code"], problem["session_status"]) == ("session_offline", "stopped")

    async def test_unknown_line_is_404(self, api: Api) -> None:
        for line in ("7c9e6679-7425-40de-944b-e07fc1f90ae7", "not-a-uuid"):
            status, problem = await api.call("POST", f"/v1/sessions/{line}/restart")
            assert (status, problem["code"]) == (404, "session_not_found")

    async def test_grpc_front_answers_unavailable_for_an_offline_line(
        self, api: Api, grpc_channel: grpc.aio.Channel
    ) -> None:
        line, _ = await _create_line(api)
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetStatus(session_pb2.GetStatusRequest(session_id=line), metadata=GRPC_AUTH)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "last status: stopped" in (caught.value.details() or "")


class TestStreams:
    """SSE and gRPC streams relay the worker's events and end when it goes away."""

    async def test_sse_relays_qr_and_status_and_ends_when_the_worker_dies(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line, _ = await _create_line(api)
        worker = spawn(line, WAMESH_SANDBOX_QR_INTERVAL_S="0.3")
        worker.wait_registered()
        events: list[str] = []
        async with api.http.get(
            f"{api.base}/v1/sessions/{line}/events", headers=api.headers
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            async with asyncio.timeout(20):
                async for raw in resp.content:
                    text = raw.decode().strip()
                    if text.startswith("event: "):
                        events.append(text.removeprefix("event: "))
                    if events.count("session.qr") == 2:
                        worker.kill()
            assert events[-1] == "end"
        assert events.count("session.qr") >= 2
