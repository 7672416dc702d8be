"""One line's runtime inside its worker: engine events in, state and events out.

Every engine event goes through `_handle` in order (one pump task): a status change is written to
the `sessions` row together with its outbox rows in one transaction, the rows are kicked to the
webhook queue after the commit, and the event is published to in-process subscribers. Sends are
idempotent by client message id (`sent_messages` plus the engine's own record of message ids).
Auth state is saved after pairing, again after a settling delay, periodically, and on stop.

Pairing: a line waiting for it (status `qr`) pairs by scanning its QR or by a code typed on the
phone (`request_pairing_code`, engines that are `PairsByCode`). A pairing code replaces the QR in
the `sessions` row (the column is cleared: the engine stops showing QRs) and goes out as a
`session.pairing_code` event only; it is a credential until it expires, so it is never logged.
A request while the line is still `starting` waits for the engine to show it is unpaired; a
paired line (`ready`, `disconnected`) answers `already_paired`.

Rich messages: a send with media, `reply_to` or mentions goes to engines that are `SendsRich`
(others answer `not_supported`; a plain text keeps using `send_text`). Media reaches the worker
only as a `media_id` of the line's MediaStore (the gateway stores URLs and base64 first); the
engine reads it as a `MediaSource`. React, edit, revoke and forward go through `capability`;
forward is idempotent by client message id exactly like a send. Received media
(`MessageIn.download`) of a type in WAMESH_MEDIA_AUTO_DOWNLOAD is stored before its
`message.received` event is written (in the pump, so events keep their order); a failed
download still delivers the message, with `media` null and `media_error` saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

import psycopg
from psycopg_pool import PoolTimeout

from wamesh.authstate import AuthStore
from wamesh.constants import MAX_TEXT_LENGTH
from wamesh.engines.base import (
    AckChanged,
    Authenticated,
    Disconnected,
    Engine,
    EngineEvent,
    Failed,
    LoggedOut,
    MediaSource,
    Message,
    MessageEdited,
    MessageIn,
    MessageOut,
    MessageRevoked,
    MessageType,
    PairingCode,
    PairsByCode,
    Qr,
    ReactionChanged,
    Ready,
    message_id_for,
)
from wamesh.engines.rich import (
    MEDIA_TYPES,
    Edits,
    Forwards,
    Outgoing,
    OutgoingMedia,
    Reacts,
    Revokes,
    SendsRich,
    capability,
)
from wamesh.errors import (
    AlreadyPaired,
    InvalidInput,
    MessageNotFound,
    NotSupported,
    SessionNotFound,
    SessionNotReady,
    WameshError,
)
from wamesh.jid import parse_phone, parse_recipient
from wamesh.media.store import MediaStore
from wamesh.outbox import Kicker
from wamesh.session.events import (
    LineEvent,
    ack_event,
    action_event,
    message_event,
    pairing_code_event,
    qr_event,
    status_event,
)
from wamesh.session.hub import Hub
from wamesh.session.store import LineStore, StatusChange

_LOGGER = logging.getLogger(__name__)
AUTH_SAVE_DELAY_S = 60.0
AUTH_SAVE_INTERVAL_S = 600.0
PAIRED_STATUSES = frozenset({"ready", "disconnected"})
FINAL_STATUSES = frozenset({"logged_out", "failed", "stopped"})
DB_RETRIES = 30
PAIRING_START_WAIT_S = 10.0  # under the gateway's 15 s deadline


@dataclass(frozen=True)
class SendResult:
    """What SendMessage answers."""

    message_id: str
    chat_id: str
    client_message_id: str
    duplicate: bool
    timestamp: datetime


@dataclass(frozen=True)
class LineMedia:
    """The line's MediaStore and how much of received media it keeps."""

    store: MediaStore
    max_bytes: int
    auto_download: frozenset[str] = frozenset(t.value for t in MEDIA_TYPES)


@dataclass(frozen=True)
class SendRequest:
    """One message to send: text, or media (a stored `media_id` sent as `media_kind`) with
    `text` as its caption; optionally replying to `reply_to` and mentioning `mentions`."""

    to: str
    text: str = ""
    client_message_id: str = ""
    media_kind: str = ""
    media_id: str = ""
    reply_to: str = ""
    mentions: tuple[str, ...] = ()

    @property
    def rich(self) -> bool:
        """Needs an engine that is SendsRich (anything beyond a plain text)."""
        return bool(self.media_id or self.reply_to or self.mentions)


class Line:
    """The runtime of one line: its engine, status, subscribers and sends."""

    def __init__(
        self,
        session_id: str,
        engine_factory: Callable[[], Engine],
        store: LineStore,
        auth: AuthStore,
        hub: Hub,
        kicker: Kicker | None = None,
        media: LineMedia | None = None,
    ) -> None:
        self.session_id = session_id
        self.media = media
        self._factory = engine_factory
        self._store = store
        self._auth = auth
        self.hub = hub
        self._kicker = kicker
        self.engine: Engine | None = None
        self.status = "starting"
        self.me: str | None = None
        self.qr: Qr | None = None
        self.last_error: str | None = None
        self.deleted = asyncio.Event()
        self._changed = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None
        self._saver_task: asyncio.Task[None] | None = None
        self._saved_digest: bytes | None = None
        self._frozen = False

    # Lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Write `starting`, restore auth state, start the engine and its event pump."""
        await self._change(StatusChange("starting", keep_me=True), [status_event("starting")])
        state = await self._auth.load()
        self._saved_digest = _digest(state)
        engine = self._factory()
        self.engine = engine
        self._pump_task = asyncio.create_task(
            self._pump(engine), name=f"line-{self.session_id}-pump"
        )
        await engine.start(state)

    async def stop(self, *, write_status: bool = True) -> None:
        """Save auth state, stop the engine and, unless told not to, write `stopped`.

        Saved twice: before (in case stopping hangs) and after the engine closed, when what it
        keeps on disk is consistent (Chromium writes Local Storage and IndexedDB lazily)."""
        engine = self.engine
        await self.save_auth()
        await self._halt_engine()
        if engine is not None:
            await self.save_auth(engine)
        if write_status:
            await self._change(StatusChange("stopped"), [status_event("stopped")])

    async def abort(self) -> None:
        """Stop the engine at once, writing nothing (the lease is lost: another worker owns us)."""
        self._frozen = True
        await self._halt_engine()

    async def restart(self) -> None:
        """Stop the engine (saving auth state) and start a fresh one."""
        await self.stop(write_status=False)
        await self.start()

    async def _halt_engine(self) -> None:
        for task in (self._saver_task,):
            if task is not None:
                task.cancel()
        engine, self.engine = self.engine, None
        if engine is not None:
            await engine.stop()
        if self._pump_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._pump_task, timeout=10)
            self._pump_task = None

    # Commands -------------------------------------------------------------------------------

    async def send(self, to: str, text: str, client_message_id: str = "") -> SendResult:
        """Send a text once per client message id; SessionNotReady unless ready."""
        return await self.send_message(SendRequest(to, text, client_message_id))

    async def send_message(self, req: SendRequest) -> SendResult:
        """Send once per client message id (text, or media with a caption, reply, mentions)."""
        chat_id = parse_recipient(req.to)
        check_message(req)
        mentions = tuple(parse_recipient(m, "mentions") for m in req.mentions)
        cmid = req.client_message_id or str(uuid.uuid4())
        known = await self._store.find_sent(cmid)
        if known is not None:
            return SendResult(known.message_id, known.chat_id, cmid, True, known.sent_at)
        engine = self._ready_engine()
        message_id = message_id_for(self.session_id, cmid)
        if not req.rich:
            message = await engine.send_text(chat_id, req.text, message_id)
        else:
            sender = capability(engine, SendsRich, "media, replies and mentions")
            media = await self._outgoing_media(engine, sender, req)
            out = Outgoing(chat_id, message_id, req.text, media, req.reply_to or None, mentions)
            message = await sender.send_message(out)
        stored = await self._store.remember_sent(cmid, message)
        return SendResult(stored.message_id, stored.chat_id, cmid, False, stored.sent_at)

    async def _outgoing_media(
        self, engine: Engine, sender: SendsRich, req: SendRequest
    ) -> OutgoingMedia | None:
        if not req.media_id:
            return None
        kind = MessageType(req.media_kind)
        if kind not in sender.media_kinds:
            raise NotSupported(engine.kind, f"{kind.value} messages")
        store = self._media_store()
        info = await store.info(self.session_id, req.media_id)
        return OutgoingMedia(kind, info, store.source(self.session_id, info))

    async def react(self, chat_id: str, message_id: str, emoji: str) -> None:
        """Set (or, with an empty emoji, remove) the line's reaction to a message."""
        chat = parse_recipient(chat_id, "chat_id")
        check_message_id(message_id)
        engine = self._ready_engine()
        await capability(engine, Reacts, "reactions").react(chat, message_id, emoji)

    async def edit(self, chat_id: str, message_id: str, text: str) -> None:
        """Replace the text (or caption) of a message the line sent."""
        chat = parse_recipient(chat_id, "chat_id")
        check_message_id(message_id)
        check_text(text)
        engine = self._ready_engine()
        await capability(engine, Edits, "editing messages").edit(chat, message_id, text)

    async def revoke(self, chat_id: str, message_id: str) -> None:
        """Delete a message the line sent, for everyone; without `chat_id`, the chat it was
        sent to through wamesh (else `message_not_found`)."""
        check_message_id(message_id)
        if not chat_id:
            found = await self._store.chat_of_sent(message_id)
            if found is None:
                raise MessageNotFound(f"the line sent no message {message_id} through wamesh")
            chat_id = found
        chat = parse_recipient(chat_id, "chat_id")
        engine = self._ready_engine()
        await capability(engine, Revokes, "deleting messages").revoke(chat, message_id)

    async def forward(
        self, chat_id: str, message_id: str, to: str, client_message_id: str = ""
    ) -> SendResult:
        """Forward a message to `to`, once per client message id (as `send_message`)."""
        chat = parse_recipient(chat_id, "chat_id")
        target = parse_recipient(to)
        check_message_id(message_id)
        cmid = client_message_id or str(uuid.uuid4())
        known = await self._store.find_sent(cmid)
        if known is not None:
            return SendResult(known.message_id, known.chat_id, cmid, True, known.sent_at)
        forwarder = capability(self._ready_engine(), Forwards, "forwarding messages")
        new_id = message_id_for(self.session_id, cmid)
        message = await forwarder.forward(chat, message_id, target, new_id)
        stored = await self._store.remember_sent(cmid, message)
        return SendResult(stored.message_id, stored.chat_id, cmid, False, stored.sent_at)

    def _ready_engine(self) -> Engine:
        engine = self.engine
        if engine is None or self.status != "ready":
            raise SessionNotReady(self.session_id, self.status)
        return engine

    async def stored_media(self, media_id: str) -> MediaSource:
        """One of the line's stored media, to read in chunks (MediaNotFound when absent)."""
        store = self._media_store()
        return store.source(self.session_id, await store.info(self.session_id, media_id))

    def _media_store(self) -> MediaStore:
        if self.media is None:
            raise NotSupported("line's", "media (no media store configured)")
        return self.media.store

    async def request_pairing_code(self, phone: str) -> PairingCode:
        """A code to type on the phone for `phone`; only while the line waits for pairing."""
        digits = parse_phone(phone)
        if self.engine is not None:
            _pairs_by_code(self.engine)  # an engine that cannot answers at once, not after a wait
        if self.status == "starting":
            with contextlib.suppress(TimeoutError):
                waited = {"qr", *PAIRED_STATUSES, *FINAL_STATUSES}
                await self.wait_for(waited, limit_s=PAIRING_START_WAIT_S)
        engine = self.engine
        if self.status in PAIRED_STATUSES:
            raise AlreadyPaired(self.session_id, self.status)
        if engine is None or self.status != "qr":
            raise SessionNotReady(self.session_id, self.status)
        return await _pairs_by_code(engine).request_pairing_code(digits)

    async def logout(self) -> str:
        """Log the line out and wait for `logged_out`."""
        engine = self.engine
        if engine is None:
            if self.status == "logged_out":
                return self.status
            raise SessionNotReady(self.session_id, self.status)
        await engine.logout()
        await self.wait_for({"logged_out"}, limit_s=15)
        return self.status

    async def wait_for(self, statuses: Iterable[str], limit_s: float) -> None:
        """Wait until the status is one of `statuses`."""
        wanted = frozenset(statuses)
        async with asyncio.timeout(limit_s):
            while self.status not in wanted:
                await self._changed.wait()

    async def save_auth(self, stopped: Engine | None = None) -> None:
        """Export the engine's (or a just stopped engine's) auth state; store it if it changed."""
        engine = stopped or self.engine
        if engine is None:
            return
        try:
            state = await engine.export_auth_state()
        except Exception:
            _LOGGER.exception("exporting auth state failed")
            return
        digest = _digest(state)
        if state is None or digest == self._saved_digest:
            return
        generation = await self._auth.save(state)
        self._saved_digest = digest
        _LOGGER.info("saved auth state", extra={"generation": generation, "bytes": len(state)})

    # Events ---------------------------------------------------------------------------------

    async def _pump(self, engine: Engine) -> None:
        async for event in engine.events():
            try:
                await self._handle_retrying(event)
            except SessionNotFound:
                _LOGGER.error("session %s was deleted; stopping", self.session_id)
                self.deleted.set()
                return
            except Exception:
                _LOGGER.exception("handling a %s event failed", type(event).__name__)
            if isinstance(event, LoggedOut | Failed):
                return  # the engine is being stopped; what it says now (a new QR) is not the line's

    async def _handle_retrying(self, event: EngineEvent) -> None:
        """Handle, retrying while PostgreSQL is unreachable so no event is dropped."""
        for attempt in range(DB_RETRIES):
            try:
                await self._handle(event)
                return
            except (psycopg.OperationalError, PoolTimeout) as exc:
                _LOGGER.warning("database unavailable (%s), retrying", type(exc).__name__)
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
        await self._handle(event)

    async def _handle(self, event: EngineEvent) -> None:
        match event:
            case Qr():
                await self._on_qr(event)
            case PairingCode():
                await self._on_pairing_code(event)
            case Authenticated():
                _LOGGER.info("authenticated")
            case Ready(me=me):
                self.me = me
                await self.save_auth()  # before `ready` shows: a crash just after keeps the pairing
                await self._change(StatusChange("ready", me=me), [status_event("ready", me=me)])
                if self._saver_task is not None:  # ready again after a reconnect
                    self._saver_task.cancel()
                self._saver_task = asyncio.create_task(self._keep_saving(), name="auth-saver")
            case MessageIn(message=m, download=download) if download is not None:
                stored, error = await self._store_received(m, download)
                await self._record([message_event(stored, self.session_id, error)])
            case MessageIn(message=m) | MessageOut(message=m):
                await self._record([message_event(m, self.session_id)])
            case AckChanged(message_id=mid, chat_id=chat, ack=ack):
                await self._record([ack_event(mid, chat, ack)])
            case ReactionChanged() | MessageEdited() | MessageRevoked():
                await self._record([action_event(event)])
            case Disconnected(reason=reason):
                await self._change(
                    StatusChange("disconnected", last_error=reason),
                    [status_event("disconnected", reason=reason)],
                )
            case LoggedOut(reason=reason):
                await self._on_logged_out(reason)
            case Failed():
                await self._on_failed(event)

    async def _store_received(
        self, message: Message, download: MediaSource
    ) -> tuple[Message, str | None]:
        """The message with its media stored, or unchanged with why it was not."""
        media = self.media
        if media is None:
            return message, "not stored: the worker has no media store"
        if message.type.value not in media.auto_download:
            return message, "not stored: type not in WAMESH_MEDIA_AUTO_DOWNLOAD"
        try:
            info = await media.store.put(
                self.session_id,
                download.open(),
                mimetype=download.mimetype,
                filename=download.filename,
                max_bytes=media.max_bytes,
            )
        except WameshError as exc:
            _LOGGER.warning("storing received media of %s failed: %s", message.id, exc.message)
            return message, f"download failed: {exc.message}"
        except Exception as exc:
            _LOGGER.exception("downloading received media of %s failed", message.id)
            return message, f"download failed: {type(exc).__name__}"
        return replace(message, media=info), None

    async def _on_qr(self, qr: Qr) -> None:
        self.qr = qr
        events = [qr_event(qr.code, qr.expires_at, qr.rotation)]
        if self.status != "qr":
            events.insert(0, status_event("qr"))
        await self._change(StatusChange("qr", qr=qr.code, qr_expires_at=qr.expires_at), events)

    async def _on_pairing_code(self, pairing: PairingCode) -> None:
        _LOGGER.info(  # never the code itself: it links the phone until it expires
            "pairing code issued for a number ending in %s, valid until %s",
            pairing.phone[-4:],
            pairing.expires_at.isoformat(timespec="seconds"),
        )
        self.qr = None  # the engine shows the code instead of a QR
        events = [pairing_code_event(pairing.code, pairing.phone, pairing.expires_at)]
        if self.status != "qr":
            events.insert(0, status_event("qr"))
        await self._change(StatusChange("qr"), events)

    async def _on_logged_out(self, reason: str) -> None:
        await self._auth.purge()
        self._saved_digest = None
        self.me = None
        change = StatusChange("logged_out", last_error=reason, keep_me=False)
        await self._change(change, [status_event("logged_out", reason=reason)])
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._halt_engine()))

    async def _on_failed(self, failed: Failed) -> None:
        reason = f"{failed.code}: {failed.reason}"
        await self._change(
            StatusChange("failed", last_error=reason), [status_event("failed", reason=reason)]
        )
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._halt_engine()))

    async def _keep_saving(self) -> None:
        await asyncio.sleep(AUTH_SAVE_DELAY_S)
        while True:
            await self.save_auth()
            await asyncio.sleep(AUTH_SAVE_INTERVAL_S)

    async def _change(self, change: StatusChange, events: list[LineEvent]) -> None:
        if self._frozen:
            return
        delivery_ids = await self._store.change_status(change, events)
        self.status = change.status
        if change.status != "qr":
            self.qr = None
        self.last_error = change.last_error
        if not change.keep_me:
            self.me = None
        self._changed.set()
        self._changed = asyncio.Event()
        await self.after_commit(delivery_ids, events)

    async def _record(self, events: list[LineEvent]) -> None:
        if self._frozen:
            return
        await self.after_commit(await self._store.record(events), events)

    async def emit(self, events: list[LineEvent]) -> None:
        """Record events that change no status (outbox rows), kick them and publish them."""
        await self._record(events)

    async def after_commit(self, delivery_ids: list[str], events: list[LineEvent]) -> None:
        """Kick committed outbox rows and publish their events (for callers with their own
        transaction, e.g. the reminder runner, which writes rows with `outbox.record_event`)."""
        if delivery_ids and self._kicker is not None:
            try:
                await self._kicker.kick(delivery_ids)
            except Exception as exc:  # the reconciler re-kicks pending rows
                _LOGGER.warning("kicking deliveries failed: %s", type(exc).__name__)
        for event in events:
            self.hub.publish(event)


def check_text(text: str) -> None:
    """Non-empty and at most MAX_TEXT_LENGTH characters."""
    if not text.strip():
        raise InvalidInput("text must not be empty", "text")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            f"text is longer than {MAX_TEXT_LENGTH} characters", "text", "text_too_long"
        )


def check_message(req: SendRequest) -> None:
    """A text, or media with an optional caption of at most MAX_TEXT_LENGTH characters."""
    if not req.media_id:
        check_text(req.text)
    elif len(req.text) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            f"text is longer than {MAX_TEXT_LENGTH} characters", "text", "text_too_long"
        )
    if req.media_id and req.media_kind not in {t.value for t in MEDIA_TYPES}:
        kinds = ", ".join(sorted(t.value for t in MEDIA_TYPES))
        raise InvalidInput(f"media.kind must be one of {kinds}", "media.kind")
    if req.reply_to:
        check_message_id(req.reply_to, "reply_to")


def check_message_id(message_id: str, field: str = "message_id") -> None:
    """A non-empty message id of printable ASCII (WhatsApp's ids are hex or base64-like)."""
    if not message_id or len(message_id) > 200 or not message_id.isascii():
        raise InvalidInput(f"{field} must be a message id", field)
    if not message_id.isprintable() or " " in message_id:
        raise InvalidInput(f"{field} must be a message id", field)


def _pairs_by_code(engine: Engine) -> PairsByCode:
    if not isinstance(engine, PairsByCode):
        raise NotSupported(engine.kind, "pairing codes")
    return engine


def _digest(state: bytes | None) -> bytes | None:
    return hashlib.sha256(state).digest() if state is not None else None
