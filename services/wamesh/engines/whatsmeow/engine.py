"""The whatsmeow engine: a line on WhatsApp's multi-device protocol through neonize (Go whatsmeow),
no browser.

Start: the line's whatsmeow store (a SQLite file in a scratch folder) is rebuilt from the auth
state PostgreSQL gave (store.py); the line's own device is resumed by its JID, a line without one
pairs as a new device (never whatsmeow's "first device in the store"). A session is one
`connect()`: neonize's Go call that holds a thread until it is stopped (executor.py sizes the
pool). When it cannot connect it reports `Disconnected` with whatsmeow's error and tries again
with back-off (1, 2, 4 ... 30 s); once connected, whatsmeow reconnects by itself and reports
Disconnected / Connected. Events come through neonize's dispatcher (events.py).

Every neonize call goes through `_using()`: only while Go knows the client (a call naming a
client Go has dropped dereferences nil and the Go runtime kills the process: FACTS.md), counted,
so stopping waits for calls in flight before it tells Go to drop the client.

After each event it dispatches, the engine looks at the store's change counter (four bytes of
the SQLite header) and reports `AuthChanged` when it moved, so the worker saves the new keys
within seconds rather than at its next scheduled save.

Stop: Go drops the client and returns the session's thread; the store is archived one last time
(`export_auth_state` keeps answering with that copy) and the scratch folder is deleted, so no key
stays on disk. A logged-out line's store is deleted, not archived.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import neonize.aioze.events as neonize_events
from neonize._binder import ProxySettings
from neonize.aioze.client import NewAClient
from neonize.exc import NeonizeError

from wamesh.engines.base import (
    AuthChanged,
    Disconnected,
    Engine,
    EngineEvent,
    Failed,
    LoggedOut,
    MediaSource,
    Message,
    MessageIn,
    MessageOut,
    MessageType,
    PairingCode,
    PairsByCode,
)
from wamesh.engines.browser.events import PAIRING_CODE_LIFETIME_S, pairing_code_text
from wamesh.engines.rich import Outgoing
from wamesh.engines.whatsmeow import executor, store
from wamesh.engines.whatsmeow.events import Translator
from wamesh.engines.whatsmeow.jids import to_jid
from wamesh.engines.whatsmeow.polls import Polls
from wamesh.engines.whatsmeow.rich import Recent, WhatsmeowRich, single
from wamesh.errors import EngineError, InvalidInput
from wamesh.settings import Settings

_LOGGER = logging.getLogger(__name__)
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 30.0
CALL_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class WhatsmeowConfig:
    """How one line's whatsmeow runs."""

    session_id: str
    folder: Path
    proxy: str | None = None
    backoff_min_s: float = BACKOFF_MIN_S
    backoff_max_s: float = BACKOFF_MAX_S
    call_timeout_s: float = CALL_TIMEOUT_S


class LineClient(NewAClient):  # type: ignore[misc]  # neonize is untyped
    """neonize's async client, with whatsmeow's login status (neonize leaves it a no-op)."""

    on_login_status: Callable[[str], None] | None = None

    def _NewAClient__onLoginStatus(self, uuid: int, status: int) -> None:
        # Go calls it (QR channel events other than codes: "success", "timeout", "err-...").
        if self.on_login_status is not None:
            self.on_login_status(ctypes.string_at(status).decode())


class WhatsmeowEngine(WhatsmeowRich, Engine, PairsByCode):
    """A line on whatsmeow."""

    kind = "whatsmeow"

    def __init__(self, config: WhatsmeowConfig) -> None:
        self._config = config
        self._queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self._polls = Polls()
        self._translator = Translator(None, self._media, self._polls)
        self._recent = Recent()
        self._sent: dict[str, Message] = {}
        self._sending: dict[str, asyncio.Future[Message]] = {}
        self._client: Any = None
        self._live = False
        self._calls = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._runner: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._ended = False
        self._logged_out = False
        self._final_state: bytes | None = None
        self._generation = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._counter: bytes | None = None

    @classmethod
    def from_settings(cls, session_id: str, settings: Settings) -> WhatsmeowEngine:
        """Configured from WAMESH_WHATSMEOW_* settings."""
        folder = Path(settings.whatsmeow_dir).resolve() / session_id
        return cls(WhatsmeowConfig(session_id, folder, settings.whatsmeow_proxy))

    @property
    def db(self) -> Path:
        """The store's SQLite file while the line runs."""
        return store.store_path(self._config.folder)

    # Engine interface -------------------------------------------------------------------------

    async def start(self, auth_state: bytes | None) -> None:
        """Rebuild the store, then connect in the background (events follow)."""
        self._loop = asyncio.get_running_loop()
        executor.install(self._loop)
        device = await asyncio.to_thread(store.restore, self._config.folder, auth_state)
        self._translator = Translator(device, self._media, self._polls)
        self._runner = asyncio.create_task(self._run(), name=f"whatsmeow-{self._config.session_id}")

    async def stop(self) -> None:
        """Drop the client, archive the store one last time, delete the scratch folder."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._client is not None:
            await self._release(self._client)
        if self._runner is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._runner, DRAIN_TIMEOUT_S)
        await asyncio.to_thread(self._archive_and_remove)
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[EngineEvent]:
        """Events until `stop`."""
        while (event := await self._queue.get()) is not None:
            yield event

    async def send_text(self, chat_id: str, text: str, message_id: str) -> Message:
        """A text message (see `send_message`)."""
        return await self.send_message(Outgoing(chat_id, message_id, text))

    async def request_pairing_code(self, phone: str) -> PairingCode:
        """whatsmeow's PairPhone on the unpaired connection; the code is valid for 180 s."""
        if self._translator.device is not None:
            raise InvalidInput("the line is already paired")
        async with self._using() as client:
            code = await client.PairPhone(phone, True)
        expires = datetime.now(UTC) + timedelta(seconds=PAIRING_CODE_LIFETIME_S)
        pairing = PairingCode(pairing_code_text(str(code)), phone, expires)
        self._emit([pairing])
        return pairing

    async def logout(self) -> None:
        """whatsmeow's Logout: WhatsApp removes the device and the store forgets it."""
        async with self._using() as client:
            await client.logout()
        self._emit(self._translator.logged_out_by_us())

    async def export_auth_state(self) -> bytes | None:
        """The store archived (gzipped SQLite); after `stop`, the copy taken at stop."""
        if self._logged_out:
            return None
        if self._stopped.is_set():
            return self._final_state
        return await asyncio.to_thread(store.pack, self.db)

    # Sessions -------------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._config.backoff_min_s
        while not self._stopped.is_set():
            connections = self._translator.connections
            outcome = await self._session()
            if outcome is None or self._stopped.is_set() or self._ended:
                return
            self._emit([Disconnected(outcome)])
            if self._translator.connections > connections:  # it had connected: start over
                delay = self._config.backoff_min_s
            _LOGGER.info("whatsmeow: %s; trying again in %.0f s", outcome, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), delay)
            delay = min(self._config.backoff_max_s, delay * 2)

    async def _session(self) -> str | None:
        """One connect(); why it ended (None: stopped, logged out or failed for good)."""
        client = self._new_client()
        try:
            task = await client.connect(self._proxy())
            await task
        except NeonizeError as exc:
            return f"cannot connect to WhatsApp: {exc}"
        finally:
            await self._release(client)
        return None if self._stopped.is_set() or self._ended else "the whatsmeow session ended"

    def _new_client(self) -> Any:
        self._generation += 1
        # A name of our own per client (not the JID's user, neonize's default), so a finalizer
        # of an earlier client can never stop a later one (NewAClient._release_ffi).
        uuid = f"{self._config.session_id}#{self._generation}"
        device = self._translator.device
        client = LineClient(str(self.db), uuid=uuid, new_device=device is None)
        if device is not None:
            client.jid = to_jid(device)
        client.on_login_status = self._login_status
        client.event.qr(self._on_qr)
        for event_type, translate in self._translator.handlers().items():
            client.event(event_type)(self._handler(translate))
        # neonize dispatches to the first loop it saw (aioze/events.py set_event_loop); a worker
        # has one loop, tests have one per test: always ours.
        neonize_events.event_global_loop = asyncio.get_running_loop()
        self._client = client
        return client

    def _proxy(self) -> Any:
        return ProxySettings(self._config.proxy) if self._config.proxy else None

    async def _release(self, client: Any) -> None:
        """Wait for calls in flight, then tell Go to drop the client (once)."""
        if self._client is not client:
            return
        self._client, self._live = None, False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), DRAIN_TIMEOUT_S)
        await client.stop()

    @contextlib.asynccontextmanager
    async def _using(self) -> AsyncIterator[Any]:
        client = self._client
        if client is None or not self._live:
            raise EngineError("whatsmeow is not connected")
        self._calls += 1
        self._idle.clear()
        try:
            async with asyncio.timeout(self._config.call_timeout_s):
                yield client
        except NeonizeError as exc:
            raise EngineError(f"whatsmeow refused: {exc}") from None
        except TimeoutError:
            raise EngineError(
                f"whatsmeow did not answer within {self._config.call_timeout_s:g} s"
            ) from None
        finally:
            self._calls -= 1
            if not self._calls:
                self._idle.set()

    def _own_jid(self) -> str:
        me = self._translator.me
        if me is None:
            raise EngineError("the line is not paired")
        return me

    # Events ---------------------------------------------------------------------------------

    def _handler(self, translate: Callable[[Any], list[EngineEvent]]) -> Any:
        async def handle(client: Any, event: Any) -> None:
            if client is self._client:
                self._live = True  # Go called back: it holds the client
                if client.me is not None:  # set by neonize's dispatcher before any event
                    self._translator.note_me(client.me)
            self._emit(translate(event), event)

        return handle

    async def _on_qr(self, client: Any, code: bytes) -> None:
        if client is self._client:
            self._live = True
        self._emit(self._translator.qr(code.decode()))

    def _login_status(self, status: str) -> None:
        """From a Go thread: the QR channel ended ("timeout": no code was scanned)."""
        if status == "timeout" and self._loop is not None:
            self._loop.call_soon_threadsafe(self._emit, self._translator.qr_timeout())
        else:
            _LOGGER.info("whatsmeow login status: %s", status)

    def _emit(self, events: list[EngineEvent], raw: Any = None) -> None:
        for event in events:
            self._note(event, raw)
            self._queue.put_nowait(event)
        if self._translator.device is not None and self._store_changed():
            self._queue.put_nowait(AuthChanged())  # an unpaired store holds nothing to keep

    def _store_changed(self) -> bool:
        """Whether whatsmeow committed to its store since the last look (its header's change
        counter moved): Go writes ratchets and pre-keys before it dispatches the event."""
        counter = store.change_counter(self.db)
        changed = counter is not None and counter != self._counter
        if counter is not None:
            self._counter = counter
        return changed

    def _note(self, event: EngineEvent, raw: Any) -> None:
        match event:
            case MessageIn(message=m) | MessageOut(message=m) if raw is not None:
                self.remember(m, raw.Message)
            case LoggedOut():
                self._ended = self._logged_out = True
            case Failed():
                self._ended = True

    def _media(self, content: Any, kind: MessageType) -> MediaSource:
        body = getattr(content, _MEDIA_FIELDS[kind])
        return MediaSource(
            mimetype=str(body.mimetype or "application/octet-stream"),
            open=lambda: self._download(content),
            filename=str(getattr(body, "fileName", "") or "") or None,
            size=int(body.fileLength or 0) or None,
        )

    async def _download(self, content: Any) -> AsyncIterator[bytes]:
        async with self._using() as client:
            data = await client.download_any(content)
        async for chunk in single(bytes(data)):
            yield chunk

    def _archive_and_remove(self) -> None:
        if not self._logged_out:
            try:
                self._final_state = store.pack(self.db)
            except Exception:
                _LOGGER.exception("archiving the whatsmeow store at stop failed")
        store.remove(self._config.folder)


_MEDIA_FIELDS = {
    MessageType.IMAGE: "imageMessage",
    MessageType.VIDEO: "videoMessage",
    MessageType.AUDIO: "audioMessage",
    MessageType.VOICE: "audioMessage",
    MessageType.DOCUMENT: "documentMessage",
    MessageType.STICKER: "stickerMessage",
}
