"""An engine that reports AuthChanged is saved within seconds, not at the next scheduled save
(10 s, 60 s, then every 600 s after ready): a small engine whose auth state changes on demand
runs in a real Line against real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from wamesh.authstate import AuthStore, derive_key
from wamesh.db.pool import Pool
from wamesh.engines.base import AuthChanged, Engine, EngineEvent, Message, Ready
from wamesh.session.hub import Hub
from wamesh.session.line import AUTH_CHANGE_SAVE_S, AUTH_SAVE_DELAYS_S, Line
from wamesh.session.store import LineStore

KEY = derive_key("test-auth-key")


class RatchetingEngine(Engine):
    """Ready at once; `ratchet()` changes its auth state and, when told, reports it."""

    kind = "ratcheting"
    last: RatchetingEngine | None = None

    def __init__(self) -> None:
        self._queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self.state = 1
        RatchetingEngine.last = self

    def ratchet(self, *, report: bool) -> None:
        self.state += 1
        if report:
            self._queue.put_nowait(AuthChanged())

    async def start(self, auth_state: bytes | None) -> None:
        self._queue.put_nowait(Ready("15550001111@s.whatsapp.net"))

    async def stop(self) -> None:
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[EngineEvent]:
        while (event := await self._queue.get()) is not None:
            yield event

    async def send_text(self, chat_id: str, text: str, message_id: str) -> Message:
        raise NotImplementedError

    async def logout(self) -> None:
        raise NotImplementedError

    async def export_auth_state(self) -> bytes | None:
        return f"state-{self.state}".encode()


async def _saved(auth: AuthStore, expected: bytes, timeout: float) -> float:
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while await auth.load() != expected:
            await asyncio.sleep(0.05)
    return time.monotonic() - started


class TestAuthChanged:
    """Reported changes are saved within AUTH_CHANGE_SAVE_S; several ride on one save."""

    async def test_a_reported_change_is_saved_within_seconds(
        self, pool: Pool, make_line: Callable[..., str]
    ) -> None:
        assert AUTH_SAVE_DELAYS_S[0] > AUTH_CHANGE_SAVE_S  # else this test proves nothing
        session_id = make_line()
        auth = AuthStore(pool, KEY, session_id)
        line = Line(session_id, RatchetingEngine, LineStore(pool, session_id), auth, Hub())
        await line.start()
        try:
            await line.wait_for({"ready"}, limit_s=10)
            await _saved(auth, b"state-1", timeout=5)  # saved before ready showed
            engine = RatchetingEngine.last
            assert engine is not None
            engine.ratchet(report=False)
            await asyncio.sleep(AUTH_CHANGE_SAVE_S + 0.5)
            assert await auth.load() == b"state-1"  # unreported: waits for the schedule
            engine.ratchet(report=True)
            engine.ratchet(report=True)
            took = await _saved(auth, b"state-4", timeout=AUTH_CHANGE_SAVE_S + 3)
            assert took < AUTH_SAVE_DELAYS_S[0]
        finally:
            await line.stop()
