"""One serializer: every event's payload is the same by webhook (outbox row), SSE and gRPC
StreamEvents: same envelope (id, type, session_id, timestamp) and the very same `data`."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Callable
from datetime import UTC
from typing import Any

import grpc.aio
from google.protobuf.json_format import MessageToDict

from tests.gateway.conftest import GRPC_AUTH, Api
from tests.rich.conftest import CONTACT, outbox, paired_line
from tests.support.workers import WorkerProcess
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc

TYPES = (
    "message.received",
    "message.sent",
    "message.ack",
    "message.reaction",
    "message.edited",
    "message.revoked",
    "poll.vote",
    "group.participants",
    "presence.update",
)
MEMBER = "4915199999999@s.whatsapp.net"


async def _read_sse(api: Api, line: str, into: dict[str, dict[str, Any]]) -> None:
    url = f"{api.base}/v1/sessions/{line}/events"
    async with api.http.get(url, headers=api.headers) as resp:
        assert resp.status == 200
        async for raw in resp.content:
            text = raw.decode().strip()
            if text.startswith("data: "):
                envelope = json.loads(text[6:])
                if "id" in envelope:
                    into[envelope["id"]] = envelope


async def _read_grpc(
    channel: grpc.aio.Channel, line: str, into: dict[str, common_pb2.Event]
) -> None:
    stub = session_pb2_grpc.SessionServiceStub(channel)
    async for event in stub.StreamEvents(
        session_pb2.StreamEventsRequest(session_id=line), metadata=GRPC_AUTH
    ):
        into[event.id] = event


async def _produce(api: Api, line: str) -> None:
    voice = base64.b64encode(os.urandom(3_000)).decode()
    status, inbound = await api.call(
        "POST",
        f"/v1/sessions/{line}/sandbox/inbound",
        {"from": CONTACT, "type": "voice", "media": voice, "mimetype": "audio/ogg"},
    )
    assert status == 201, inbound
    theirs = inbound["message"]["id"]
    status, sent = await api.call(
        "POST", f"/v1/sessions/{line}/messages", {"to": CONTACT, "text": "hello"}
    )
    assert status == 201, sent
    base = f"/v1/sessions/{line}/messages"
    react = {"chat_id": CONTACT, "emoji": "👍"}
    assert (await api.call("POST", f"{base}/{theirs}/reaction", react))[0] == 200
    edit = {"chat_id": CONTACT, "text": "hello!"}
    assert (await api.call("PATCH", f"{base}/{sent['message_id']}", edit))[0] == 200
    assert (await api.call("DELETE", f"{base}/{sent['message_id']}"))[0] == 200
    sandbox = f"/v1/sessions/{line}/sandbox"
    members = {"subject": "Team", "participants": [{"jid": CONTACT}, {"jid": MEMBER}]}
    status, created = await api.call("POST", f"{sandbox}/groups", members)
    assert status == 201, created
    group = created["group_id"]
    said = {"from": group, "author": MEMBER, "text": "hi all"}
    assert (await api.call("POST", f"{sandbox}/inbound", said))[0] == 201
    change = {"action": "promote", "participants": [MEMBER], "author": CONTACT}
    assert (await api.call("POST", f"{sandbox}/groups/{group}/participants", change))[0] == 200
    typing = {"chat_id": group, "jid": MEMBER, "presence": "typing"}
    assert (await api.call("POST", f"{sandbox}/presence", typing))[0] == 200
    place = {"latitude": -33.8568, "longitude": 151.2153, "address": "Bennelong Point"}
    assert (await api.call("POST", base, {"to": CONTACT, "location": place}))[0] == 201
    poll = {"question": "Which?", "options": ["A", "B"], "selectable_count": 1}
    said = {"from": group, "author": MEMBER, "type": "poll", "poll": poll}
    status, asked = await api.call("POST", f"{sandbox}/inbound", said)
    assert status == 201, asked
    vote = {
        "from": MEMBER,
        "chat_id": group,
        "message_id": asked["message"]["id"],
        "selected": ["B"],
    }
    assert (await api.call("POST", f"{sandbox}/poll-vote", vote))[0] == 200


class TestOnePayload:
    """Webhook, SSE and gRPC carry the same payload for each event type."""

    async def test_every_event_type_is_identical_on_the_three_channels(
        self,
        api: Api,
        spawn: Callable[..., WorkerProcess],
        grpc_channel: grpc.aio.Channel,
        database_url: str,
    ) -> None:
        line = await paired_line(api, spawn)
        by_sse: dict[str, dict[str, Any]] = {}
        by_grpc: dict[str, common_pb2.Event] = {}
        readers = [
            asyncio.create_task(_read_sse(api, line, by_sse)),
            asyncio.create_task(_read_grpc(grpc_channel, line, by_grpc)),
        ]
        await asyncio.sleep(0.5)  # both subscribed
        await _produce(api, line)
        rows: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(10):
                while True:
                    rows = [r for t in TYPES for r in outbox(database_url, line, t)]
                    ids = {r["id"] for r in rows}
                    if {r["type"] for r in rows} == set(TYPES) and ids <= set(by_sse) & set(
                        by_grpc
                    ):
                        break
                    await asyncio.sleep(0.05)
        finally:
            for task in readers:
                task.cancel()
        for row in rows:
            assert by_sse[row["id"]] == row, row["type"]
            event = by_grpc[row["id"]]
            assert json.loads(event.data_json) == row["data"], row["type"]
            assert MessageToDict(event.data) == row["data"], row["type"]
            assert (event.type, event.session_id) == (row["type"], row["session_id"])
            moment = event.timestamp.ToDatetime(tzinfo=UTC)
            assert (
                moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                == (row["timestamp"])
            )
        received = next(r for r in rows if r["type"] == "message.received")
        assert isinstance(received["data"]["media"]["size"], int)
        assert by_grpc[received["id"]].message.media.size == received["data"]["media"]["size"]
        assert (received["data"]["chat_type"], received["data"]["author"]) == ("user", CONTACT)
        in_group = next(r for r in rows if r["data"].get("chat_type") == "group")
        message = by_grpc[in_group["id"]].message
        assert (message.chat_type, message.author) == ("group", MEMBER)
        assert in_group["data"]["author"] == MEMBER
        changed = next(r for r in rows if r["type"] == "group.participants")
        assert list(by_grpc[changed["id"]].group_participants.participants) == [MEMBER]
        presence = next(r for r in rows if r["type"] == "presence.update")
        assert by_grpc[presence["id"]].presence.presence == "typing"
        located = next(r for r in rows if r["data"].get("type") == "location")
        assert by_grpc[located["id"]].message.location.address == "Bennelong Point"
        asked = next(r for r in rows if r["data"].get("type") == "poll")
        assert list(by_grpc[asked["id"]].message.poll.options) == ["A", "B"]
        voted = next(r for r in rows if r["type"] == "poll.vote")
        assert list(by_grpc[voted["id"]].poll_vote.selected) == ["B"]
        assert getattr(by_grpc[voted["id"]].poll_vote, "from") == MEMBER
