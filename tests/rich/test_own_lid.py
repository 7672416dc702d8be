"""The line's own LID end to end: a sandbox line's Ready carries its number's fake LID, and the
gateway shows it as `me_lid`, the `session.status` ready event as `lid` (the same by webhook and
gRPC), and GetStatus as `lid`. It is live only: no column holds it."""

from __future__ import annotations

import json
from collections.abc import Callable

import grpc.aio
from google.protobuf.json_format import MessageToDict

from tests.gateway.conftest import GRPC_AUTH, Api
from tests.rich.conftest import outbox, paired_line
from tests.support.workers import WorkerProcess
from wamesh.engines.sandbox import lid_of
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc


async def _held_status_events(channel: grpc.aio.Channel, line: str) -> list[common_pb2.Event]:
    """The `session.status` events the worker holds, replayed by StreamEvents (`recent`)."""
    stub = session_pb2_grpc.SessionServiceStub(channel)
    request = session_pb2.StreamEventsRequest(session_id=line, types=["session.status"], recent=20)
    call = stub.StreamEvents(request, metadata=GRPC_AUTH)
    held: list[common_pb2.Event] = []
    try:
        async for event in call:
            held.append(event)
            if event.status.status == common_pb2.SESSION_STATUS_READY:
                break
    finally:
        call.cancel()
    return held


class TestOwnLid:
    """A ready sandbox line reports its own LID wherever it reports its own JID."""

    async def test_the_line_shows_me_lid(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        status, reply = await api.call("GET", f"/v1/sessions/{line}")
        assert status == 200, reply
        assert reply["me"].endswith("@s.whatsapp.net")
        assert reply["me_lid"] == lid_of(reply["me"].partition("@")[0])
        assert reply["me_lid"].endswith("@lid")

    async def test_lists_show_no_lid(self, api: Api, spawn: Callable[..., WorkerProcess]) -> None:
        line = await paired_line(api, spawn)
        status, reply = await api.call("GET", "/v1/sessions")
        assert status == 200, reply
        [listed] = [s for s in reply["sessions"] if s["id"] == line]
        assert listed["me_lid"] is None  # live only: a list asks no worker

    async def test_the_ready_event_carries_lid_alike_by_webhook_and_grpc(
        self,
        api: Api,
        spawn: Callable[..., WorkerProcess],
        grpc_channel: grpc.aio.Channel,
        database_url: str,
    ) -> None:
        line = await paired_line(api, spawn)
        rows = outbox(database_url, line, "session.status")
        [ready] = [r for r in rows if r["data"]["status"] == "ready"]
        me = ready["data"]["me"]
        assert ready["data"]["lid"] == lid_of(me.partition("@")[0])
        assert all(r["data"]["lid"] is None for r in rows if r is not ready)
        held = {e.id: e for e in await _held_status_events(grpc_channel, line)}
        event = held[ready["id"]]
        assert json.loads(event.data_json) == ready["data"]
        assert MessageToDict(event.data) == ready["data"]
        assert (event.status.me, event.status.lid) == (me, ready["data"]["lid"])

    async def test_get_status_carries_lid(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line = await paired_line(api, spawn)
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        reply = await stub.GetStatus(
            session_pb2.GetStatusRequest(session_id=line), metadata=GRPC_AUTH
        )
        assert reply.status == common_pb2.SESSION_STATUS_READY
        assert reply.lid == lid_of(reply.me.partition("@")[0])
