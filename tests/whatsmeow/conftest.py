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
from neonize.events import EVENT_TO_INT

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
