"""Media through the gateway on sandbox lines: sent by URL, base64 and media_id (the sandbox
hashes what it read), received media stored and served back, and a failed download."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from tests.gateway.conftest import Api
from tests.rich.conftest import CONTACT, outbox, paired_line, sent_log, wait_outbox
from tests.support.workers import WorkerProcess

IMAGE = os.urandom(300_000)  # over one store chunk
PDF = b"%PDF-1.4\n" + os.urandom(5_000)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Origin:
    """An HTTP server on loopback serving one image; counts its downloads."""

    def __init__(self) -> None:
        self.hits = 0
        self.url = ""

    async def image(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(body=IMAGE, content_type="image/png")


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    served = Origin()
    app = web.Application()
    app.router.add_get("/cat.png", served.image)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    served.url = f"http://127.0.0.1:{port}/cat.png"
    yield served
    await runner.cleanup()


async def _send(api: Api, line: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    status, reply = await api.call("POST", f"/v1/sessions/{line}/messages", body)
    return status, reply


class TestSendingMedia:
    """Whatever the source, the sandbox received exactly the bytes given (same sha256)."""

    async def test_image_by_url_is_fetched_once_and_arrives_whole(
        self, api: Api, spawn: Callable[..., WorkerProcess], origin: Origin
    ) -> None:
        line = await paired_line(api, spawn)
        body = {
            "to": CONTACT,
            "text": "a cat",
            "media": {"kind": "image", "url": origin.url},
            "client_message_id": "cat-1",
        }
        status, sent = await _send(api, line, body)
        assert status == 201, sent
        status, again = await _send(api, line, body)
        assert (status, again["duplicate"], again["message_id"]) == (200, True, sent["message_id"])
        assert origin.hits == 1
        [record] = (await sent_log(api, line))["messages"]
        assert record["id"] == sent["message_id"]
        assert (record["type"], record["text"]) == ("image", "a cat")
        assert record["media"]["sha256"] == sha(IMAGE)
        assert record["media"]["size"] == len(IMAGE)
        assert record["media"]["mimetype"] == "image/png"

    async def test_document_by_base64_keeps_its_filename(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        media = {
            "kind": "document",
            "data": base64.b64encode(PDF).decode(),
            "mimetype": "application/pdf",
            "filename": "invoice.pdf",
        }
        status, sent = await _send(api, line, {"to": CONTACT, "media": media})
        assert status == 201, sent
        [record] = (await sent_log(api, line))["messages"]
        assert record["type"] == "document"
        assert record["media"]["sha256"] == sha(PDF)
        assert record["media"]["filename"] == "invoice.pdf"

    async def test_voice_by_media_id_after_an_upload(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        voice = os.urandom(20_000)
        async with api.http.post(
            f"{api.base}/v1/sessions/{line}/media",
            data=voice,
            headers={**api.headers, "Content-Type": "audio/ogg; codecs=opus"},
        ) as resp:
            assert resp.status == 201, await resp.text()
            uploaded = await resp.json()
        body = {"to": CONTACT, "media": {"kind": "voice", "media_id": uploaded["media_id"]}}
        status, sent = await _send(api, line, body)
        assert status == 201, sent
        [record] = (await sent_log(api, line))["messages"]
        assert (record["type"], record["media"]["sha256"]) == ("voice", sha(voice))
        [event] = await wait_outbox(database_url, line, "message.sent")
        assert event["data"]["media"]["media_id"] == uploaded["media_id"]
        assert event["data"]["media"]["url"] == f"/v1/sessions/{line}/media/{uploaded['media_id']}"

    async def test_unknown_media_id_is_404_and_nothing_is_sent(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        missing = "00000000-0000-0000-0000-000000000000"
        body = {"to": CONTACT, "media": {"kind": "image", "media_id": missing}}
        status, problem = await _send(api, line, body)
        assert (status, problem["code"]) == (404, "media_not_found"), problem
        assert (await sent_log(api, line))["messages"] == []


class TestReceivingMedia:
    """Received media is stored and its url serves the same bytes; a failure still delivers."""

    async def test_inbound_voice_note_is_downloadable_from_the_webhook_url(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        voice = os.urandom(70_000)
        inbound = {
            "from": CONTACT,
            "type": "voice",
            "media": base64.b64encode(voice).decode(),
            "mimetype": "audio/ogg; codecs=opus",
        }
        status, reply = await api.call("POST", f"/v1/sessions/{line}/sandbox/inbound", inbound)
        assert status == 201, reply
        [event] = await wait_outbox(database_url, line, "message.received")
        data = event["data"]
        assert (data["id"], data["type"]) == (reply["message"]["id"], "voice")
        media = data["media"]
        assert (media["sha256"], media["size"]) == (sha(voice), len(voice))
        async with api.http.get(api.base + media["url"], headers=api.headers) as resp:
            assert resp.status == 200
            assert sha(await resp.read()) == sha(voice)

    async def test_inbound_by_media_id_needs_a_stored_one_and_no_bytes_beside_it(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn)
        path = f"/v1/sessions/{line}/sandbox/inbound"
        missing = "00000000-0000-0000-0000-000000000000"
        inbound = {"from": CONTACT, "type": "document", "media_id": missing}
        status, problem = await api.call("POST", path, inbound)
        assert (status, problem["code"]) == (404, "media_not_found"), problem
        async with api.http.post(
            f"{api.base}/v1/sessions/{line}/media", data=PDF, headers=api.headers
        ) as resp:
            assert resp.status == 201, await resp.text()
            stored = (await resp.json())["media_id"]
        both = {**inbound, "media_id": stored, "media": base64.b64encode(PDF).decode()}
        status, problem = await api.call("POST", path, both)
        assert status == 400, problem
        assert outbox(database_url, line, "message.received") == []

    async def test_media_over_the_cap_is_delivered_without_media_and_says_why(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await paired_line(api, spawn, WAMESH_MEDIA_MAX_BYTES="1000")
        inbound = {
            "from": CONTACT,
            "type": "image",
            "text": "too big",
            "media": base64.b64encode(os.urandom(5_000)).decode(),
            "mimetype": "image/jpeg",
        }
        status, reply = await api.call("POST", f"/v1/sessions/{line}/sandbox/inbound", inbound)
        assert status == 201, reply
        [event] = await wait_outbox(database_url, line, "message.received")
        assert event["data"]["media"] is None
        assert event["data"]["text"] == "too big"
        assert "1000 bytes" in event["data"]["media_error"]
