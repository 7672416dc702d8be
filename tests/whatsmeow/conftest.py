"""whatsmeow engines for tests, and neonize events delivered through neonize's own dispatcher."""

from __future__ import annotations

import asyncio
import ctypes
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from neonize.aioze.client import async_gocode
from neonize.events import EVENT_TO_INT
from neonize.proto.Neonize_pb2 import (
    JID,
    MessageDebugTimings,
    SendMessageReturnFunction,
    SendResponse,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WaMessage

from wamesh.engines.base import EngineEvent
from wamesh.engines.whatsmeow import WhatsmeowConfig, WhatsmeowEngine

# A loopback port nothing listens on: whatsmeow dials its proxy there, so the engine's own test
# process never reaches past loopback (the netns tests prove the same with no network at all).
CLOSED_PROXY = "socks5://127.0.0.1:9"


def require_netns() -> None:
    """Fail (never skip) when this machine cannot make a network namespace."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None:
        pytest.fail(
            "these tests need `unshare` and `ip` (Debian: apt-get install util-linux iproute2)"
        )
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.fail(f"`unshare -n` is not permitted here ({probe.stderr.strip()}); run as root")


class Dispatcher:
    """Feeds neonize events to a client the way Go does: serialized, through `Event.execute`
    (and QR codes through the client's own QR callback), from a thread of their own."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def send(self, event: Any) -> None:
        data = event.SerializeToString()
        buffer = ctypes.create_string_buffer(data, len(data))
        code = EVENT_TO_INT[type(event)]
        await asyncio.to_thread(
            self.client.event.execute, 0, ctypes.addressof(buffer), len(data), code
        )

    async def qr(self, code: str) -> None:
        buffer = ctypes.create_string_buffer(code.encode())
        await asyncio.to_thread(self.client._NewAClient__onQr, 0, ctypes.addressof(buffer))


class GoSide:
    """The Go functions behind a neonize client, where a send leaves Python: `SendMessage` and
    `SubscribePresence` take the bytes neonize's own client methods serialize and answer as Go
    does (a SendMessageReturnFunction; an empty error string); each call is kept. Every other
    function is the real library's. Install with `client._NewAClient__client = GoSide()`."""

    def __init__(self) -> None:
        self.sent: list[tuple[JID, WaMessage]] = []
        self.subscribed: list[JID] = []

    async def SendMessage(self, uuid: bytes, to: bytes, _: int, message: bytes, __: int) -> bytes:
        self.sent.append((JID.FromString(to), WaMessage.FromString(message)))
        timings = MessageDebugTimings(
            **dict.fromkeys(MessageDebugTimings.DESCRIPTOR.fields_by_name, 0)
        )
        response = SendResponse(
            Timestamp=1_767_000_100,
            ID=f"3EB0{len(self.sent):018X}",
            ServerID=0,
            DebugTimings=timings,
        )
        return SendMessageReturnFunction(SendResponse=response).SerializeToString()

    async def SubscribePresence(self, uuid: bytes, jid: bytes, _: int) -> bytes:
        self.subscribed.append(JID.FromString(jid))
        return b""

    def __getattr__(self, name: str) -> Any:
        return getattr(async_gocode, name)


async def next_events(engine: WhatsmeowEngine, count: int, timeout: float = 5) -> list[EngineEvent]:
    """The engine's next `count` events."""
    got: list[EngineEvent] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            got.append(await engine._queue.get())  # type: ignore[arg-type]
    return got


@pytest.fixture
async def make_engine(tmp_path: Path) -> AsyncIterator[Callable[..., WhatsmeowEngine]]:
    """`make_engine(**config)`: engines on a closed loopback proxy, stopped after the test."""
    engines: list[WhatsmeowEngine] = []

    def make(**overrides: Any) -> WhatsmeowEngine:
        config = {"session_id": "line-test", "folder": tmp_path / "store", "proxy": CLOSED_PROXY}
        config.update(overrides)
        engine = WhatsmeowEngine(WhatsmeowConfig(**config))
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.stop()
