"""A browser line as a user meets it: the gateway's REST front, a worker process, real Chromium
and the stand-in WhatsApp Web. Pairing by code, sends to each kind of chat, an unknown number,
a message that arrives undecrypted, group senders, and a logout from the phone."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.browser.conftest import Standin
from tests.browser.test_worker import _browser_env
from tests.gateway.conftest import Api, api, gateway, spawn, wait_live
from tests.rich.conftest import outbox, wait_outbox
from tests.support.workers import WorkerProcess

pytestmark = pytest.mark.browser
MESSAGE_ID = re.compile(r"3EB0[0-9A-F]{18}")


def _events(database_url: str, line: str, kind: str) -> list[dict[str, Any]]:
    return [body["data"] for body in outbox(database_url, line, kind)]


async def _wait_events(database_url: str, line: str, kind: str, n: int) -> list[dict[str, Any]]:
    return [body["data"] for body in await wait_outbox(database_url, line, kind, n, timeout=20)]


async def _paired_by_code(
    api: Api, spawn: Callable[..., WorkerProcess], standin: Standin, line: str
) -> None:
    spawn(line, **_browser_env(standin))
    await wait_live(api, line, "qr", timeout=60)
    status, reply = await api.call(
        "POST", f"/v1/sessions/{line}/pairing-code", {"phone": "+1 555 000 9999"}
    )
    assert status == 200, reply
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", reply["code"])
    await standin.control("enterPairingCode", reply["code"].replace("-", ""))
    line_now = await wait_live(api, line, "ready", timeout=30)
    assert line_now["me"] == "15550009999@s.whatsapp.net"


class TestBrowserLineThroughTheGateway:
    """What the REST front answers for a browser line, and the events it records."""

    async def test_pairing_code_sends_and_refusals(
        self,
        api: Api,
        spawn: Callable[..., WorkerProcess],
        standin: Standin,
        make_line: Callable[..., str],
        database_url: str,
    ) -> None:
        line = make_line(engine="browser")
        await _paired_by_code(api, spawn, standin, line)
        [code_event] = _events(database_url, line, "session.pairing_code")
        assert code_event["phone"] == "15550009999"

        for n, to in enumerate(("+15550001111", "987654321012@lid", "120363012345678901@g.us")):
            body = {"to": to, "text": f"hello {n}", "client_message_id": f"c-{n}"}
            status, sent = await api.call("POST", f"/v1/sessions/{line}/messages", body)
            assert status == 201, sent
            assert MESSAGE_ID.fullmatch(sent["message_id"])
            status, again = await api.call("POST", f"/v1/sessions/{line}/messages", body)
            assert (status, again["message_id"], again["duplicate"]) == (
                200,
                sent["message_id"],
                True,
            )

        await standin.control("notOnWhatsApp", "15550003333")
        status, refused = await api.call(
            "POST", f"/v1/sessions/{line}/messages", {"to": "+15550003333", "text": "anyone?"}
        )
        assert (status, refused["code"]) == (422, "not_on_whatsapp")  # well formed, not doable
        assert "not on WhatsApp" in refused["detail"]

    async def test_placeholder_group_and_phone_logout(
        self,
        api: Api,
        spawn: Callable[..., WorkerProcess],
        standin: Standin,
        make_line: Callable[..., str],
        database_url: str,
    ) -> None:
        line = make_line(engine="browser")
        await _paired_by_code(api, spawn, standin, line)
        await standin.control("receiveCiphertext", "15550002222@c.us", "late but whole", 700)
        await standin.control("receiveSystem", "15550002222@c.us", "e2e_notification")
        await standin.control(
            "receiveGroup", "120363000000000001@g.us", "15550004444@c.us", "in the group"
        )
        received = await _wait_events(database_url, line, "message.received", 2)
        await asyncio.sleep(1.0)
        received = _events(database_url, line, "message.received")
        assert sorted(r["text"] for r in received) == ["in the group", "late but whole"]
        [group] = [r for r in received if r["chat_id"].endswith("@g.us")]
        assert group["from"] == "15550004444@s.whatsapp.net"

        await standin.control("phoneLogout")
        await wait_live(api, line, "logged_out", timeout=30)
        with psycopg.connect(database_url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM wamesh.session_auth WHERE session_id = %s", (line,)
            ).fetchone() == (0,)

    async def test_media_out_and_in(
        self,
        api: Api,
        spawn: Callable[..., WorkerProcess],
        standin: Standin,
        make_line: Callable[..., str],
        database_url: str,
    ) -> None:
        line = make_line(engine="browser")
        await _paired_by_code(api, spawn, standin, line)
        outgoing = bytes(range(256)) * 3000
        media = {
            "kind": "document",
            "data": base64.b64encode(outgoing).decode(),
            "mimetype": "application/pdf",
            "filename": "notes.pdf",
        }
        status, sent = await api.call(
            "POST",
            f"/v1/sessions/{line}/messages",
            {"to": "+15550001111", "text": "the notes", "media": media, "client_message_id": "m-1"},
        )
        assert status == 201, sent
        [message] = await _wait_events(database_url, line, "message.sent", 1)
        assert (message["type"], message["text"]) == ("document", "the notes")

        incoming = b"OggS" + bytes(range(200)) * 2000
        await standin.control(
            "receiveMedia",
            "15550002222@c.us",
            "ptt",
            base64.b64encode(incoming).decode(),
            "audio/ogg",
        )
        [received] = await _wait_events(database_url, line, "message.received", 1)
        assert received["type"] == "voice"
        assert received["media"]["sha256"] == hashlib.sha256(incoming).hexdigest()
        status, body = await api.call("GET", received["media"]["url"])
        assert status == 200
        assert body == incoming


__all__ = ["api", "gateway", "spawn"]
