"""Replies, mentions, reactions, edits, revokes and forwards through the gateway on a sandbox
line: each lands in the sandbox's record and comes back as the event WhatsApp would send."""

from __future__ import annotations

from collections.abc import Callable

import grpc.aio

from tests.gateway.conftest import GRPC_AUTH, Api
from tests.rich.conftest import CONTACT, paired_line, sent_log, wait_outbox
from tests.support.workers import WorkerProcess
from wamesh.v1 import session_pb2, session_pb2_grpc

OTHER = "4915199999999@s.whatsapp.net"


async def _inbound(api: Api, line: str, text: str = "hi") -> str:
    status, reply = await api.call(
        "POST", f"/v1/sessions/{line}/sandbox/inbound", {"from": CONTACT, "text": text}
    )
    assert status == 201, reply
    return str(reply["message"]["id"])


async def _send(api: Api, line: str, **body: object) -> str:
    status, reply = await api.call("POST", f"/v1/sessions/{line}/messages", {"to": CONTACT, **body})
    assert status == 201, reply
    return str(reply["message_id"])


class TestActions:
    """Each action is recorded by the simulated server and echoed as its event."""

    async def test_reply_with_mentions_is_recorded_and_in_the_sent_event(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        asked = await _inbound(api, line, "who is coming?")
        sent = await _send(
            api, line, text="@4915199999999 is", reply_to=asked, mentions=["+49 151 99999999"]
        )
        [record] = (await sent_log(api, line))["messages"]
        assert (record["id"], record["reply_to"], record["mentions"]) == (sent, asked, [OTHER])
        [event] = await wait_outbox(database_url, line, "message.sent")
        assert (event["data"]["reply_to"], event["data"]["mentions"]) == (asked, [OTHER])
        [received] = await wait_outbox(database_url, line, "message.received")
        assert (received["data"]["type"], received["data"]["media"]) == ("text", None)

    async def test_react_edit_revoke_and_forward(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        theirs = await _inbound(api, line)
        mine = await _send(api, line, text="first draft")
        base = f"/v1/sessions/{line}/messages"

        status, reply = await api.call(
            "POST", f"{base}/{theirs}/reaction", {"chat_id": CONTACT, "emoji": "👍"}
        )
        assert (status, reply["action"]) == (200, "reaction"), reply
        status, reply = await api.call(
            "PATCH", f"{base}/{mine}", {"chat_id": CONTACT, "text": "v2"}
        )
        assert status == 200, reply
        forward = {"chat_id": CONTACT, "to": OTHER, "client_message_id": "fwd-1"}
        status, forwarded = await api.call("POST", f"{base}/{theirs}/forward", forward)
        assert (status, forwarded["chat_id"]) == (201, OTHER), forwarded
        status, again = await api.call("POST", f"{base}/{theirs}/forward", forward)
        assert (status, again["message_id"]) == (200, forwarded["message_id"])
        status, reply = await api.call("DELETE", f"{base}/{mine}")  # chat found from the send
        assert (status, reply["action"]) == (200, "revoke"), reply

        log = await sent_log(api, line)
        actions = [(a["kind"], a["message_id"]) for a in log["actions"]]
        assert actions == [
            ("reaction", theirs),
            ("edit", mine),
            ("forward", theirs),
            ("revoke", mine),
        ]
        assert log["actions"][0]["emoji"] == "👍"
        assert log["actions"][1]["text"] == "v2"
        copy = next(m for m in log["messages"] if m["id"] == forwarded["message_id"])
        assert (copy["chat_id"], copy["text"]) == (OTHER, "hi")

        [reaction] = await wait_outbox(database_url, line, "message.reaction")
        assert reaction["data"] == {
            "message_id": theirs,
            "chat_id": CONTACT,
            "from": reaction["data"]["from"],
            "emoji": "👍",
            "from_me": True,
            "timestamp": reaction["data"]["timestamp"],
        }
        [edited] = await wait_outbox(database_url, line, "message.edited")
        assert (edited["data"]["message_id"], edited["data"]["text"]) == (mine, "v2")
        [revoked] = await wait_outbox(database_url, line, "message.revoked")
        assert revoked["data"]["message_id"] == mine
        sent = await wait_outbox(database_url, line, "message.sent", 2)
        assert [e["data"]["id"] for e in sent] == [mine, forwarded["message_id"]]

    async def test_a_contacts_reaction_edit_and_revoke_are_events(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        theirs = await _inbound(api, line, "typo")
        sandbox = f"/v1/sessions/{line}/sandbox"
        for path, body in (
            ("reaction", {"from": CONTACT, "message_id": theirs, "emoji": "❤️"}),
            ("edit", {"from": CONTACT, "message_id": theirs, "text": "fixed"}),
            ("revoke", {"from": CONTACT, "message_id": theirs}),
        ):
            status, reply = await api.call("POST", f"{sandbox}/{path}", body)
            assert status == 200, (path, reply)
        [reaction] = await wait_outbox(database_url, line, "message.reaction")
        assert (reaction["data"]["emoji"], reaction["data"]["from_me"]) == ("❤️", False)
        assert reaction["data"]["from"] == CONTACT
        [edited] = await wait_outbox(database_url, line, "message.edited")
        assert (edited["data"]["text"], edited["data"]["from"]) == ("fixed", CONTACT)
        [revoked] = await wait_outbox(database_url, line, "message.revoked")
        assert revoked["data"]["message_id"] == theirs

    async def test_unknown_messages_are_404_and_editing_theirs_is_refused(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        theirs = await _inbound(api, line)
        base = f"/v1/sessions/{line}/messages"
        status, problem = await api.call(
            "POST", f"{base}/3EB0000000000000000000/reaction", {"chat_id": CONTACT, "emoji": "x"}
        )
        assert (status, problem["code"]) == (404, "message_not_found")
        status, problem = await api.call(
            "PATCH", f"{base}/{theirs}", {"chat_id": CONTACT, "text": "mine now"}
        )
        assert (status, problem["code"]) == (404, "message_not_found")
        status, problem = await api.call("DELETE", f"{base}/3EB0000000000000000000")
        assert (status, problem["code"]) == (404, "message_not_found")

    async def test_the_same_actions_over_grpc(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line = await paired_line(api, spawn)
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        sent = await stub.SendMessage(
            session_pb2.SendMessageRequest(
                session_id=line,
                to=CONTACT,
                text="pic",
                media=session_pb2.MediaContent(
                    kind="image", data=b"\x89PNG...", mimetype="image/png"
                ),
            ),
            metadata=GRPC_AUTH,
        )
        await stub.React(
            session_pb2.ReactRequest(
                session_id=line, chat_id=CONTACT, message_id=sent.message_id, emoji="🔥"
            ),
            metadata=GRPC_AUTH,
        )
        await stub.EditMessage(
            session_pb2.EditMessageRequest(
                session_id=line, chat_id=CONTACT, message_id=sent.message_id, text="a picture"
            ),
            metadata=GRPC_AUTH,
        )
        forwarded = await stub.ForwardMessage(
            session_pb2.ForwardMessageRequest(
                session_id=line, chat_id=CONTACT, message_id=sent.message_id, to=OTHER
            ),
            metadata=GRPC_AUTH,
        )
        await stub.RevokeMessage(
            session_pb2.RevokeMessageRequest(
                session_id=line, chat_id=CONTACT, message_id=sent.message_id
            ),
            metadata=GRPC_AUTH,
        )
        listed = await session_pb2_grpc.SandboxServiceStub(grpc_channel).ListSent(
            session_pb2.ListSentRequest(session_id=line), metadata=GRPC_AUTH
        )
        assert [a.kind for a in listed.actions] == ["reaction", "edit", "forward", "revoke"]
        first, copy = listed.messages
        assert (first.type, copy.chat_id, copy.id) == ("image", OTHER, forwarded.message_id)
        assert first.media.sha256 == copy.media.sha256 != ""
