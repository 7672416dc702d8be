"""An engine without a capability answers 501 `not_supported` naming itself, once, generically:
a small text-only engine (a stand-in for one that cannot send media, react, edit, revoke, forward,
check numbers, read groups, mark chats read or set presence) runs in a real Line, served by a real worker gRPC server, reached through a
gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aiohttp
import grpc
import grpc.aio
import pytest
from redis.asyncio import Redis

from tests.gateway.conftest import API_KEY, gateway_settings
from tests.rich.conftest import CONTACT
from wamesh.authstate import AuthStore, derive_key
from wamesh.db.pool import Pool
from wamesh.engines.base import (
    ContactCard,
    Engine,
    EngineEvent,
    Location,
    LoggedOut,
    Message,
    Poll,
    Ready,
)
from wamesh.engines.rich import Outgoing, SendsRich
from wamesh.errors import NotSupported
from wamesh.gateway.app import running_gateway
from wamesh.registry import Lease, Registry, new_record
from wamesh.rpc.server import serve
from wamesh.session.hub import Hub
from wamesh.session.line import Line
from wamesh.session.messaging import SendRequest
from wamesh.session.servicer import SessionServicer
from wamesh.session.store import LineStore
from wamesh.v1 import session_pb2, session_pb2_grpc


class TextOnlyEngine(Engine):
    """Ready at once; sends plain text and nothing else."""

    kind = "text-only"

    def __init__(self) -> None:
        self._queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()

    async def start(self, auth_state: bytes | None) -> None:
        self._queue.put_nowait(Ready("15550001111@s.whatsapp.net"))

    async def stop(self) -> None:
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[EngineEvent]:
        while (event := await self._queue.get()) is not None:
            yield event

    async def send_text(self, chat_id: str, text: str, message_id: str) -> Message:
        return Message(message_id, chat_id, "me", chat_id, True, text, datetime.now(UTC))

    async def logout(self) -> None:
        self._queue.put_nowait(LoggedOut("logged out by request"))

    async def export_auth_state(self) -> bytes | None:
        return None


@asynccontextmanager
async def ready_line(pool: Pool, session_id: str) -> AsyncIterator[Line]:
    auth = AuthStore(pool, derive_key("test-auth-key"), session_id)
    line = Line(session_id, TextOnlyEngine, LineStore(pool, session_id), auth, Hub())
    await line.start()
    try:
        await line.wait_for({"ready"}, limit_s=10)
        yield line
    finally:
        await line.stop()


MSG = "3EB0000000000000000001"
GROUP = "120363000000000001@g.us"


class TestLineCapabilities:
    """Plain text still goes out; everything richer is NotSupported naming the engine."""

    async def test_text_is_sent_and_the_rest_is_not_supported(
        self, pool: Pool, make_line: Callable[..., str]
    ) -> None:
        async with ready_line(pool, make_line()) as line:
            sent = await line.send(CONTACT, "plain")
            assert not sent.duplicate
            attempts = [
                line.send_message(SendRequest(CONTACT, "re", reply_to=MSG)),
                line.send_message(SendRequest(CONTACT, "hi", mentions=(CONTACT,))),
                line.send_message(SendRequest(CONTACT, media_kind="image", media_id="m")),
                line.react(CONTACT, MSG, "👍"),
                line.edit(CONTACT, MSG, "new"),
                line.revoke(CONTACT, MSG),
                line.forward(CONTACT, MSG, CONTACT),
                line.check_contact(CONTACT),
                line.list_groups(),
                line.group_info(GROUP),
                line.mark_read(CONTACT),
                line.set_presence(CONTACT, "typing"),
                line.subscribe_presence(CONTACT),
                line.send_message(SendRequest(CONTACT, location=Location(1.0, 2.0))),
                line.send_message(SendRequest(CONTACT, poll=Poll("Q?", ("a", "b")))),
            ]
            for attempt in attempts:
                with pytest.raises(NotSupported) as caught:
                    await attempt
                assert caught.value.engine == "text-only"


class RichButNotStructuredEngine(TextOnlyEngine, SendsRich):
    """Sends media, replies and mentions, but declares no structured kinds."""

    kind = "rich-only"

    async def send_message(self, out: Outgoing) -> Message:
        return await self.send_text(out.chat_id, out.text, out.message_id)


class TestStructuredKinds:
    """A SendsRich engine sends only the structured kinds it declares."""

    async def test_undeclared_kinds_are_not_supported_by_name(
        self, pool: Pool, make_line: Callable[..., str]
    ) -> None:
        session_id = make_line()
        auth = AuthStore(pool, derive_key("test-auth-key"), session_id)
        store = LineStore(pool, session_id)
        line = Line(session_id, RichButNotStructuredEngine, store, auth, Hub())
        await line.start()
        try:
            await line.wait_for({"ready"}, limit_s=10)
            assert not (await line.send_message(SendRequest(CONTACT, "re", reply_to=MSG))).duplicate
            card = ContactCard("Ada", "BEGIN:VCARD\nFN:Ada\nEND:VCARD")
            for request, kind in (
                (SendRequest(CONTACT, location=Location(1.0, 2.0)), "location"),
                (SendRequest(CONTACT, contacts=(card,)), "contact"),
                (SendRequest(CONTACT, poll=Poll("Q?", ("a", "b"))), "poll"),
            ):
                with pytest.raises(NotSupported) as caught:
                    await line.send_message(request)
                assert (caught.value.engine, caught.value.capability) == (
                    "rich-only",
                    f"{kind} messages",
                )
        finally:
            await line.stop()


class TestThroughTheGateway:
    """REST answers 501 with code not_supported and the engine; gRPC answers UNIMPLEMENTED."""

    async def test_501_and_unimplemented(
        self, pool: Pool, database_url: str, redis_url: str, make_line: Callable[..., str]
    ) -> None:
        line_id = make_line()
        redis = Redis.from_url(redis_url, decode_responses=True)
        async with ready_line(pool, line_id) as line:

            def register(server: grpc.aio.Server, port: int) -> list[str]:
                servicer = SessionServicer(
                    line, f"127.0.0.1:{port}", "text-only", datetime.now(UTC)
                )
                session_pb2_grpc.add_SessionServiceServicer_to_server(servicer, server)
                return []

            async with serve("127.0.0.1", 0, register, grace_s=0) as worker:
                lease = Lease(
                    Registry(redis, 15_000), new_record(line_id, f"127.0.0.1:{worker.port}")
                )
                await lease.start()
                try:
                    settings = gateway_settings(database_url, redis_url)
                    async with running_gateway(settings) as gateway:
                        await self._check(gateway.http_port, gateway.grpc_port, line_id)
                finally:
                    await lease.stop(release=True)
        await redis.aclose()

    async def _check(self, http_port: int, grpc_port: int, line_id: str) -> None:
        line = f"http://127.0.0.1:{http_port}/v1/sessions/{line_id}"
        base = f"{line}/messages"
        headers = {"X-Api-Key": API_KEY}
        async with aiohttp.ClientSession(headers=headers) as http:
            for method, url, body in (
                ("POST", f"{base}/{MSG}/reaction", {"chat_id": CONTACT, "emoji": "👍"}),
                ("POST", base, {"to": CONTACT, "text": "re", "reply_to": MSG}),
                ("PATCH", f"{base}/{MSG}", {"chat_id": CONTACT, "text": "x"}),
                ("GET", f"{line}/contacts/{CONTACT}", None),
                ("GET", f"{line}/groups", None),
                ("GET", f"{line}/groups/{GROUP}", None),
                ("POST", f"{line}/chats/{CONTACT}/read", None),
                ("POST", f"{line}/presence", {"presence": "online"}),
                ("POST", f"{line}/contacts/{CONTACT}/presence-subscription", None),
                ("POST", base, {"to": CONTACT, "poll": {"question": "Q", "options": ["a", "b"]}}),
            ):
                async with http.request(method, url, json=body) as resp:
                    problem = await resp.json(content_type=None)
                    assert resp.status == 501, problem
                    assert problem["code"] == "not_supported"
                    assert problem["engine"] == "text-only"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = session_pb2_grpc.SessionServiceStub(channel)
            request = session_pb2.RevokeMessageRequest(
                session_id=line_id, chat_id=CONTACT, message_id=MSG
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.RevokeMessage(request, metadata=(("x-api-key", API_KEY),))
            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
