"""Groups, read marks and presence through the gateway on sandbox lines: the line's groups with
their members and admin flags, membership changes and contacts' presence as events, group
messages with `chat_type` and `author`, read marks and chat states recorded by the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc.aio

from tests.gateway.conftest import GRPC_AUTH, Api
from tests.rich.conftest import CONTACT, paired_line, sent_log, wait_outbox
from tests.support.workers import WorkerProcess
from wamesh.v1 import session_pb2, session_pb2_grpc

MEMBER = "4915199999999@s.whatsapp.net"


async def _group(api: Api, line: str, subject: str = "Team") -> str:
    body = {
        "subject": subject,
        "participants": [{"jid": CONTACT, "is_admin": True}, {"jid": MEMBER}],
    }
    status, reply = await api.call("POST", f"/v1/sessions/{line}/sandbox/groups", body)
    assert status == 201, reply
    return str(reply["group_id"])


def _flags(group: dict[str, Any]) -> dict[str, tuple[bool, bool]]:
    return {p["jid"]: (p["is_admin"], p["is_super_admin"]) for p in group["participants"]}


class TestGroups:
    """The groups the sandbox put the line in are listed and read with their members."""

    async def test_list_and_get_groups_with_participants_and_admin_flags(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        assert await api.call("GET", f"/v1/sessions/{line}/groups") == (200, {"groups": []})
        team, other = await _group(api, line), await _group(api, line, "Other")
        status, listed = await api.call("GET", f"/v1/sessions/{line}/groups")
        assert status == 200, listed
        assert [(g["id"], g["subject"]) for g in listed["groups"]] == [
            (team, "Team"),
            (other, "Other"),
        ]
        status, group = await api.call("GET", f"/v1/sessions/{line}/groups/{team}")
        assert status == 200, group
        assert _flags(group) == {CONTACT: (True, False), MEMBER: (False, False)}
        bare = team.removesuffix("@g.us")
        assert (await api.call("GET", f"/v1/sessions/{line}/groups/{bare}"))[1] == group

    async def test_unknown_group_is_404_and_a_user_is_400(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        status, problem = await api.call("GET", f"/v1/sessions/{line}/groups/120363999999@g.us")
        assert status == 404, problem
        status, problem = await api.call("GET", f"/v1/sessions/{line}/groups/{CONTACT}")
        assert (status, problem["code"]) == (400, "invalid_value")

    async def test_participants_change_is_an_event_and_changes_the_group(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        group = await _group(api, line)
        url = f"/v1/sessions/{line}/sandbox/groups/{group}/participants"
        change = {"action": "promote", "participants": [MEMBER], "author": CONTACT}
        assert await api.call("POST", url, change) == (200, {"ok": True})
        [row] = await wait_outbox(database_url, line, "group.participants")
        data = row["data"]
        assert {k: v for k, v in data.items() if k != "timestamp"} == {
            "group_id": group,
            "action": "promote",
            "participants": [MEMBER],
            "author": CONTACT,
        }
        _, info = await api.call("GET", f"/v1/sessions/{line}/groups/{group}")
        assert _flags(info)[MEMBER] == (True, False)
        assert (await api.call("POST", url, {"action": "leave", "participants": [MEMBER]}))[
            0
        ] == 200
        rows = await wait_outbox(database_url, line, "group.participants", 2)
        assert rows[1]["data"]["author"] is None
        _, info = await api.call("GET", f"/v1/sessions/{line}/groups/{group}")
        assert list(_flags(info)) == [CONTACT]


class TestGroupMessages:
    """Every message carries chat_type and author: the member in a group, the sender in 1:1."""

    async def test_group_message_has_chat_type_group_and_author(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        group = await _group(api, line)
        inbound = f"/v1/sessions/{line}/sandbox/inbound"
        status, reply = await api.call(
            "POST", inbound, {"from": group, "author": MEMBER, "text": "hi all"}
        )
        assert status == 201, reply
        assert (reply["message"]["chat_type"], reply["message"]["author"]) == ("group", MEMBER)
        assert (await api.call("POST", inbound, {"from": CONTACT, "text": "hi"}))[0] == 201
        rows = await wait_outbox(database_url, line, "message.received", 2)
        got = [(r["data"]["chat_id"], r["data"]["chat_type"], r["data"]["author"]) for r in rows]
        assert got == [(group, "group", MEMBER), (CONTACT, "user", CONTACT)]
        status, sent = await api.call(
            "POST", f"/v1/sessions/{line}/messages", {"to": group, "text": "hello"}
        )
        assert status == 201, sent
        [mine] = await wait_outbox(database_url, line, "message.sent")
        assert mine["data"]["chat_type"] == "group"
        assert mine["data"]["author"] == mine["data"]["from"]

    async def test_group_message_without_author_is_400(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        group = await _group(api, line)
        status, problem = await api.call(
            "POST", f"/v1/sessions/{line}/sandbox/inbound", {"from": group, "text": "x"}
        )
        assert (status, problem.get("field")) == (400, "author"), problem


class TestReadAndPresence:
    """Read marks and chat states reach the simulated server; contacts' presence is an event."""

    async def test_mark_read_and_typing_are_recorded_by_the_sandbox(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        base = f"/v1/sessions/{line}"
        assert await api.call("POST", f"{base}/chats/{CONTACT}/read") == (200, {"ok": True})
        for body in ({"chat_id": CONTACT, "presence": "typing"}, {"presence": "online"}):
            assert await api.call("POST", f"{base}/presence", body) == (200, {"ok": True})
        actions = (await sent_log(api, line))["actions"]
        assert [(a["kind"], a["chat_id"], a["presence"]) for a in actions] == [
            ("read", CONTACT, ""),
            ("presence", CONTACT, "typing"),
            ("presence", "", "online"),
        ]

    async def test_chat_states_need_a_chat_and_online_takes_none(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        url = f"/v1/sessions/{line}/presence"
        status, problem = await api.call("POST", url, {"presence": "typing"})
        assert (status, problem["field"]) == (400, "chat_id")
        status, problem = await api.call("POST", url, {"chat_id": CONTACT, "presence": "online"})
        assert (status, problem["field"]) == (400, "chat_id")

    async def test_injected_presence_is_a_presence_update_event(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        body = {"chat_id": CONTACT, "jid": CONTACT, "presence": "recording"}
        assert await api.call("POST", f"/v1/sessions/{line}/sandbox/presence", body) == (
            200,
            {"ok": True},
        )
        [row] = await wait_outbox(database_url, line, "presence.update")
        assert {k: v for k, v in row["data"].items() if k != "timestamp"} == {
            "chat_id": CONTACT,
            "jid": CONTACT,
            "presence": "recording",
        }


class TestOverGrpc:
    """ListGroups, GetGroup, MarkRead and SetPresence through the gateway's gRPC front."""

    async def test_groups_read_and_presence_over_grpc(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line = await paired_line(api, spawn)
        group = await _group(api, line)
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        listed = await stub.ListGroups(
            session_pb2.ListGroupsRequest(session_id=line), metadata=GRPC_AUTH
        )
        assert [g.jid for g in listed.groups] == [group]
        got = await stub.GetGroup(
            session_pb2.GetGroupRequest(session_id=line, group_id=group), metadata=GRPC_AUTH
        )
        assert [(p.jid, p.is_admin) for p in got.group.participants] == [
            (CONTACT, True),
            (MEMBER, False),
        ]
        await stub.MarkRead(
            session_pb2.MarkReadRequest(session_id=line, chat_id=group), metadata=GRPC_AUTH
        )
        await stub.SetPresence(
            session_pb2.SetPresenceRequest(session_id=line, chat_id=group, presence="paused"),
            metadata=GRPC_AUTH,
        )
        actions = (await sent_log(api, line))["actions"]
        assert [(a["kind"], a["chat_id"]) for a in actions] == [
            ("read", group),
            ("presence", group),
        ]
