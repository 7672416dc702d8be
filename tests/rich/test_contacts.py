"""Number check and LID mapping through the gateway on sandbox lines: every number is on WhatsApp
unless the sandbox phone marks it not; a LID maps to its number once the line has met it."""

from __future__ import annotations

from collections.abc import Callable

import grpc.aio

from tests.gateway.conftest import GRPC_AUTH, Api
from tests.rich.conftest import CONTACT, paired_line
from tests.support.workers import WorkerProcess
from wamesh.engines.sandbox import lid_of
from wamesh.v1 import session_pb2, session_pb2_grpc

ABSENT = "+49 151 00000000"
ABSENT_JID = "4915100000000@s.whatsapp.net"
STRANGER = "4915177777777"


async def _check(api: Api, line: str, contact: str) -> tuple[int, dict[str, object]]:
    status, reply = await api.call("GET", f"/v1/sessions/{line}/contacts/{contact}")
    return status, dict(reply)


class TestNumberCheck:
    """A known number has a JID and a stable LID; the LID maps back; unknown ones do not exist."""

    async def test_known_number_has_jid_and_lid_and_the_lid_maps_back(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        status, found = await _check(api, line, "+4915112345678")
        assert status == 200, found
        assert (found["exists"], found["jid"]) == (True, CONTACT)
        lid = str(found["lid"])
        assert lid.endswith("@lid")
        assert (await _check(api, line, CONTACT.replace("s.whatsapp.net", "c.us")))[1] == found
        status, mapped = await _check(api, line, lid)
        assert (status, mapped) == (200, {"exists": True, "jid": CONTACT, "lid": lid})

    async def test_a_lid_maps_only_once_the_line_has_met_the_number(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        lid = lid_of(STRANGER)
        unknown = {"exists": False, "jid": None, "lid": None}
        assert await _check(api, line, lid) == (200, unknown)
        status, reply = await api.call(
            "POST", f"/v1/sessions/{line}/sandbox/inbound", {"from": STRANGER, "text": "hi"}
        )
        assert status == 201, reply
        status, mapped = await _check(api, line, lid)
        assert mapped == {"exists": True, "jid": f"{STRANGER}@s.whatsapp.net", "lid": lid}

    async def test_number_not_on_whatsapp_is_reported_and_refused_as_recipient(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        status, reply = await api.call(
            "POST", f"/v1/sessions/{line}/sandbox/not-on-whatsapp", {"phone": ABSENT}
        )
        assert (status, reply) == (200, {"ok": True})
        assert await _check(api, line, ABSENT_JID) == (
            200,
            {"exists": False, "jid": None, "lid": None},
        )
        for body in ({"text": "hi"}, {"text": "re", "mentions": [CONTACT]}):
            status, problem = await api.call(
                "POST", f"/v1/sessions/{line}/messages", {"to": ABSENT, **body}
            )
            assert status == 422, problem  # well formed, but no WhatsApp account: not doable
            assert problem["code"] == "not_on_whatsapp"
            assert "not on WhatsApp" in problem["detail"]

    async def test_groups_and_malformed_ids_are_400(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        status, problem = await _check(api, line, "120363012345678901@g.us")
        assert (status, problem["code"]) == (400, "invalid_value")
        assert "a group is not a contact" in str(problem["detail"])
        status, problem = await _check(api, line, "not-a-number")
        assert (status, problem["code"]) == (400, "invalid_recipient")


class TestOverGrpc:
    """CheckContact and MarkNotOnWhatsApp through the gateway's gRPC front answer as REST."""

    async def test_check_contact_matches_rest(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line = await paired_line(api, spawn)
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        reply = await stub.CheckContact(
            session_pb2.CheckContactRequest(session_id=line, id=CONTACT), metadata=GRPC_AUTH
        )
        _, found = await _check(api, line, CONTACT)
        assert (reply.exists, reply.jid, reply.lid) == (True, found["jid"], found["lid"])
        sandbox = session_pb2_grpc.SandboxServiceStub(grpc_channel)
        await sandbox.MarkNotOnWhatsApp(
            session_pb2.MarkNotOnWhatsAppRequest(session_id=line, phone=ABSENT),
            metadata=GRPC_AUTH,
        )
        reply = await stub.CheckContact(
            session_pb2.CheckContactRequest(session_id=line, id=ABSENT), metadata=GRPC_AUTH
        )
        assert (reply.exists, reply.jid, reply.lid) == (False, "", "")
