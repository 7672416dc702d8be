"""Locations, contact cards and polls through the gateway on sandbox lines: sent (REST and gRPC,
idempotent), received, voted on (`poll.vote`), refused with the field named when malformed, and
their event data valid against the API's published schemas."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from typing import Any

import grpc.aio
from jsonschema import Draft202012Validator

from tests.gateway.conftest import GRPC_AUTH, Api, scan, wait_live
from tests.rich.conftest import CONTACT, HOOK, paired_line, sent_log, wait_outbox
from tests.support.workers import WorkerProcess
from wamesh.gateway import schemas
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc

OTHER = "4915199999999@s.whatsapp.net"
PLACE = {"latitude": 52.520008, "longitude": 13.404954, "name": "Alexanderplatz"}
POLL = {"question": "Lunch?", "options": ["Pizza", "Sushi", "Salad"], "selectable_count": 1}
CARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Ada Lovelace\nTEL;waid=4915100000001:+4915100000001\nEND:VCARD"


def _valid(schema: dict[str, Any], data: dict[str, Any]) -> None:
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(data)]
    assert errors == [], errors


async def _send(api: Api, line: str, body: dict[str, Any]) -> tuple[int, Any]:
    return await api.call("POST", f"/v1/sessions/{line}/messages", {"to": CONTACT, **body})


async def _inbound(api: Api, line: str, body: dict[str, Any]) -> dict[str, Any]:
    status, reply = await api.call(
        "POST", f"/v1/sessions/{line}/sandbox/inbound", {"from": CONTACT, **body}
    )
    assert status == 201, reply
    return dict(reply["message"])


class TestSend:
    """Each kind reaches the simulated server and is reported as `message.sent`."""

    async def test_location_contacts_and_poll_are_sent_and_reported(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        cards = [{"name": "Grace Hopper", "phone": "+1 555 010 0200"}, {"vcard": CARD}]
        for body in ({"location": PLACE}, {"contacts": cards}, {"poll": POLL}):
            status, reply = await _send(api, line, body)
            assert status == 201, reply
        sent = (await sent_log(api, line))["messages"]
        assert [m["type"] for m in sent] == ["location", "contact", "poll"]
        assert sent[0]["location"] == {**PLACE, "address": None, "url": None}
        assert [c["name"] for c in sent[1]["contacts"]] == ["Grace Hopper", "Ada Lovelace"]
        assert (
            "TEL;type=CELL;type=VOICE;waid=15550100200:+15550100200"
            in sent[1]["contacts"][0]["vcard"]
        )
        assert sent[2]["poll"] == POLL
        assert all(m["text"] == "" and m["media"] is None for m in sent)
        rows = await wait_outbox(database_url, line, "message.sent", 3)
        assert [r["data"]["type"] for r in rows] == ["location", "contact", "poll"]
        assert rows[2]["data"]["poll"] == POLL
        assert rows[0]["data"]["contacts"] == []
        assert rows[0]["data"]["poll"] is None
        for row in rows:
            _valid(schemas.MESSAGE, row["data"])

    async def test_a_poll_is_sent_once_per_client_message_id(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        body = {"poll": POLL, "client_message_id": "poll-1"}
        first, again = await _send(api, line, body), await _send(api, line, body)
        assert (first[0], again[0]) == (201, 200)
        assert again[1]["duplicate"]
        assert again[1]["message_id"] == first[1]["message_id"]
        assert len((await sent_log(api, line))["messages"]) == 1

    async def test_a_poll_over_the_gateways_grpc_front(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line = await paired_line(api, spawn)
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        poll = common_pb2.Poll(question="When?", options=["Mon", "Tue"])  # selectable_count 0
        reply = await stub.SendMessage(
            session_pb2.SendMessageRequest(session_id=line, to=CONTACT, poll=poll),
            metadata=GRPC_AUTH,
        )
        [sent] = (await sent_log(api, line))["messages"]
        assert sent["id"] == reply.message_id
        assert sent["poll"] == {
            "question": "When?",
            "options": ["Mon", "Tue"],
            "selectable_count": 0,
        }


class TestBadInput:
    """Malformed structured messages are 400 with the field named; nothing is sent."""

    async def test_each_malformed_message_names_its_field(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        cases: list[tuple[dict[str, Any], str]] = [
            ({"location": {**PLACE, "latitude": 91}}, "location.latitude"),
            ({"location": {"latitude": 1}}, "location.longitude"),
            ({"location": {**PLACE, "url": "ftp://x"}}, "location.url"),
            ({"poll": {**POLL, "options": ["only"]}}, "poll.options"),
            ({"poll": {**POLL, "options": ["a", "a"]}}, "poll.options"),
            ({"poll": {**POLL, "options": ["a", " "]}}, "poll.options.1"),
            ({"poll": {**POLL, "selectable_count": 13}}, "poll.selectable_count"),
            ({"contacts": [{"name": "x", "phone": "12"}]}, "contacts.0.phone"),
            ({"contacts": [{"name": "only a name"}]}, "contacts.0.vcard"),
            ({"contacts": [{"vcard": "hello"}]}, "contacts.0.vcard"),
        ]
        for body, field in cases:
            status, problem = await _send(api, line, body)
            assert status == 400, (body, problem)
            assert problem["field"] == field, (body, problem)
        status, _ = await _send(api, line, {"poll": {**POLL, "selectable_count": 3}})
        assert status == 201  # as many as there are options: any number, written as 0
        assert (await sent_log(api, line))["messages"][0]["poll"]["selectable_count"] == 0
        for body in ({"location": PLACE, "text": "and text"}, {"location": PLACE, "poll": POLL}):
            status, problem = await _send(api, line, body)  # the schema's anyOf refuses them
            assert (status, problem["code"]) == (400, "invalid_value"), (body, problem)
        assert len((await sent_log(api, line))["messages"]) == 1  # only the valid poll


class TestReceiveAndVote:
    """Received structured messages, and votes on polls as `poll.vote` events."""

    async def test_received_kinds_carry_their_content(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        await _inbound(api, line, {"type": "location", "location": PLACE})
        await _inbound(api, line, {"type": "contact", "contacts": [{"vcard": CARD}]})
        await _inbound(api, line, {"type": "poll", "poll": POLL})
        rows = await wait_outbox(database_url, line, "message.received", 3)
        data = [r["data"] for r in rows]
        assert [d["type"] for d in data] == ["location", "contact", "poll"]
        assert data[0]["location"]["name"] == "Alexanderplatz"
        assert data[1]["contacts"] == [{"name": "Ada Lovelace", "vcard": CARD}]
        assert data[2]["poll"] == POLL
        for item in data:
            _valid(schemas.MESSAGE, item)

    async def test_votes_on_the_lines_poll_and_on_a_received_one(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        status, sent = await _send(api, line, {"poll": {**POLL, "selectable_count": 0}})
        assert status == 201, sent
        theirs = await _inbound(api, line, {"type": "poll", "poll": POLL})
        vote = f"/v1/sessions/{line}/sandbox/poll-vote"
        votes = [
            {"from": CONTACT, "message_id": sent["message_id"], "selected": ["Pizza", "Salad"]},
            {"from": CONTACT, "message_id": sent["message_id"], "selected": []},
            {"from": CONTACT, "message_id": theirs["id"], "selected": ["Sushi"]},
        ]
        for body in votes:
            assert await api.call("POST", vote, body) == (200, {"ok": True})
        rows = await wait_outbox(database_url, line, "poll.vote", 3)
        got = [(r["data"]["message_id"], r["data"]["selected"]) for r in rows]
        assert got == [
            (sent["message_id"], ["Pizza", "Salad"]),
            (sent["message_id"], []),
            (theirs["id"], ["Sushi"]),
        ]
        for row in rows:
            assert (row["data"]["chat_id"], row["data"]["from"]) == (CONTACT, CONTACT)
            _valid(schemas.POLL_VOTE_EVENT, row["data"])

    async def test_invalid_votes_are_refused(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        poll = (await _send(api, line, {"poll": POLL}))[1]["message_id"]
        text = (await _send(api, line, {"text": "not a poll"}))[1]["message_id"]
        vote = f"/v1/sessions/{line}/sandbox/poll-vote"
        cases = [  # well formed, but not what the poll offers: 422
            ({"message_id": poll, "selected": ["Pasta"]}, 422),
            ({"message_id": poll, "selected": ["Pizza", "Sushi"]}, 422),  # selectable_count 1
            ({"message_id": text, "selected": ["Pizza"]}, 422),
            ({"message_id": poll, "selected": ["Pizza", "Pizza"]}, 400),  # the document: unique
            ({"message_id": "3EB0000000000000000000", "selected": ["Pizza"]}, 404),
            ({"message_id": poll, "chat_id": OTHER, "selected": ["Pizza"]}, 404),
        ]
        for body, expected in cases:
            status, problem = await api.call("POST", vote, {"from": CONTACT, **body})
            assert status == expected, (body, problem)


async def _texts(api: Api, line: str, query: str, count: int) -> list[str]:
    """The texts of the first `count` message events of `/events?{query}`."""
    url = f"{api.base}/v1/sessions/{line}/events?types=message.received&{query}"
    texts: list[str] = []
    async with api.http.get(url, headers=api.headers) as resp:
        assert resp.status == 200
        async for raw in resp.content:
            if raw.startswith(b"data: ") and b'"text"' in raw:
                texts.append(json.loads(raw[6:])["data"]["text"])
            if len(texts) == count:
                return texts
    raise AssertionError(f"the stream ended after {texts}")


class TestRecentEvents:
    """`/events?recent=N` replays the line's latest events (never QR codes), then live ones."""

    async def test_recent_events_are_replayed_first(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        live = asyncio.create_task(_texts(api, line, "recent=0", 3))
        await asyncio.sleep(0.5)  # subscribed: a live reader sees all three once published
        for word in ("one", "two", "three"):
            await _inbound(api, line, {"text": word})
        assert await asyncio.wait_for(live, 10) == ["one", "two", "three"]
        later = asyncio.create_task(_texts(api, line, "recent=2", 3))
        await asyncio.sleep(0.5)
        await _inbound(api, line, {"text": "four"})
        assert await asyncio.wait_for(later, 10) == ["two", "three", "four"]
        status, problem = await api.call("GET", f"/v1/sessions/{line}/events?recent=201")
        assert (status, problem["field"]) == (400, "recent")


class TestPresenceSubscription:
    """A subscription to a contact's presence reaches the engine; a group is refused."""

    async def test_subscribe_is_recorded_and_a_group_is_400(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        url = f"/v1/sessions/{line}/contacts/+4915112345678/presence-subscription"
        assert await api.call("POST", url) == (200, {"jid": CONTACT})
        actions = (await sent_log(api, line))["actions"]
        assert [(a["kind"], a["chat_id"]) for a in actions] == [("subscribe", CONTACT)]
        group = f"/v1/sessions/{line}/contacts/120363000000000001@g.us/presence-subscription"
        status, problem = await api.call("POST", group)
        assert (status, problem["field"]) == (400, "contact")


class TestSandboxServerSurvivesRestart:
    """What the simulated server knows (groups, numbers not on WhatsApp, received messages, the
    LID mapping) is still there after the line's worker restarts, as on a real server."""

    async def test_groups_marks_and_received_polls_outlive_the_worker(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        status, reply = await api.call(
            "POST", "/v1/sessions", {"name": "restart", "engine": "sandbox", "webhook_url": HOOK}
        )
        assert status == 201, reply
        line = str(reply["session"]["id"])
        worker = spawn(line)
        worker.wait_registered()
        await scan(api, line)
        sandbox = f"/v1/sessions/{line}/sandbox"
        members = {"subject": "Team", "participants": [{"jid": CONTACT, "is_admin": True}]}
        status, created = await api.call("POST", f"{sandbox}/groups", members)
        assert status == 201, created
        group = created["group_id"]
        change = {"action": "add", "participants": [OTHER]}
        assert (await api.call("POST", f"{sandbox}/groups/{group}/participants", change))[0] == 200
        absent = "+4915100000099"
        assert (await api.call("POST", f"{sandbox}/not-on-whatsapp", {"phone": absent}))[0] == 200
        poll = await _inbound(api, line, {"type": "poll", "poll": POLL})
        _, before = await api.call("GET", f"/v1/sessions/{line}/contacts/{CONTACT}")
        _, groups_before = await api.call("GET", f"/v1/sessions/{line}/groups/{group}")

        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0
        spawn(line).wait_registered()
        await wait_live(api, line, "ready")  # auth state restored: no QR, no scan

        assert await api.call("GET", f"/v1/sessions/{line}/groups/{group}") == (200, groups_before)
        status, problem = await _send(api, line, {"text": "hi", "to": absent})
        assert (status, problem["code"]) == (422, "not_on_whatsapp")
        _, lid = await api.call("GET", f"/v1/sessions/{line}/contacts/{before['lid']}")
        assert lid == before
        vote = {"from": CONTACT, "message_id": poll["id"], "selected": ["Salad"]}
        assert await api.call("POST", f"{sandbox}/poll-vote", vote) == (200, {"ok": True})
        [row] = await wait_outbox(database_url, line, "poll.vote")
        assert row["data"]["selected"] == ["Salad"]
