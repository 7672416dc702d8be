"""Server-sent events start with the line's current state, and a client that reconnects with
`Last-Event-ID` receives what it missed (from the events the worker holds)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from tests.gateway.conftest import Api
from tests.rich.conftest import CONTACT, paired_line
from tests.support.workers import WorkerProcess


async def _frames(
    api: Api, line: str, count: int, headers: dict[str, str] | None = None, query: str = ""
) -> list[dict[str, Any]]:
    """The first `count` event envelopes of `/events`, each with the SSE `id:` it came with."""
    url = f"{api.base}/v1/sessions/{line}/events{query}"
    frames: list[dict[str, Any]] = []
    sse_id = None
    async with api.http.get(url, headers={**api.headers, **(headers or {})}) as resp:
        assert resp.status == 200, await resp.text()
        async for raw in resp.content:
            text = raw.decode().strip()
            if text.startswith("id: "):
                sse_id = text[4:]
            elif text.startswith("data: "):
                envelope = json.loads(text[6:])
                frames.append({**envelope, "sse_id": sse_id})
                if len(frames) == count:
                    return frames
    raise AssertionError(f"the stream ended after {frames}")


async def _inbound(api: Api, line: str, text: str) -> None:
    body = {"from": CONTACT, "text": text}
    assert (await api.call("POST", f"/v1/sessions/{line}/sandbox/inbound", body))[0] == 201


class TestCurrentState:
    """The first frames say where the line is now."""

    async def test_a_ready_line_starts_with_its_status(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        [first] = await asyncio.wait_for(_frames(api, line, 1), 10)
        assert (first["type"], first["data"]["status"]) == ("session.status", "ready")
        assert first["data"]["me"].endswith("@s.whatsapp.net")
        assert first["sse_id"] == first["id"]

    async def test_a_line_showing_a_qr_starts_with_status_and_the_qr(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        status, reply = await api.call("POST", "/v1/sessions", {"name": "qr", "engine": "sandbox"})
        assert status == 201, reply
        line = str(reply["session"]["id"])
        spawn(line).wait_registered()
        async with asyncio.timeout(15):
            while (await api.call("GET", f"/v1/sessions/{line}/qr"))[0] != 200:
                await asyncio.sleep(0.05)
        frames = await asyncio.wait_for(_frames(api, line, 2), 10)
        assert [(f["type"], f["data"].get("status")) for f in frames] == [
            ("session.status", "qr"),
            ("session.qr", None),
        ]
        assert frames[1]["data"]["qr"]


class TestResume:
    """A reconnect with Last-Event-ID gets every event after that one, and nothing before it."""

    async def test_reconnect_receives_what_it_missed(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await paired_line(api, spawn)
        only = "?types=message.received"
        reader = asyncio.create_task(_frames(api, line, 1, query=only))
        await asyncio.sleep(0.5)
        await _inbound(api, line, "seen")
        [seen] = await asyncio.wait_for(reader, 10)
        for text in ("missed 1", "missed 2"):
            await _inbound(api, line, text)
        await asyncio.sleep(1)  # recorded and published by the worker
        again = await asyncio.wait_for(
            _frames(api, line, 2, {"Last-Event-ID": seen["id"]}, only), 10
        )
        assert [f["data"]["text"] for f in again] == ["missed 1", "missed 2"]
        status, problem = await api.call(
            "GET", f"/v1/sessions/{line}/events", headers={"Last-Event-ID": "x" * 100}
        )
        assert (status, problem["field"]) == (400, "Last-Event-ID")
