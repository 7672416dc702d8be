"""The sandbox engine: a simulated phone and WhatsApp server, for offline use and users' own CI.

It behaves like a line on WhatsApp Web: QR codes that rotate every `qr_interval_s` (the line fails
after `qr_max_rotations` unscanned codes), a `scan()` that pairs it, a fake own JID, sent messages
recorded with their ack progression (server, device, read), injectable inbound messages, acks,
phone-side disconnects and logouts, and auth state that, restored, goes straight to ready.

Pairing by phone number (`PairsByCode`): `request_pairing_code` stops the QR codes and shows an
8-character code of WhatsApp's pairing alphabet as `XXXX-XXXX` (whatsmeow's pair-code.go: five
random bytes in base32 over "123456789ABCDEFGHJKLMNPQRSTVWXYZ"), valid `pairing_code_ttl_s`
(180 s: whatsapp-web.js asks for a fresh code every 180000 ms). While the line stays unpaired a
fresh code replaces it at expiry, up to `qr_max_rotations` codes, then the line fails as it does
unscanned; asking again starts over with a new code. The simulated phone enters the code with
`enter_pairing_code()`: the right, unexpired code pairs the line exactly like a scan, whatever
number it was requested for.

What the simulated WhatsApp server received is appended to `<sandbox_dir>/<session_id>/sent.jsonl`
(flushed and fsynced per message), so it survives a worker crash exactly as a real server would:
a message id it already has is returned again, never sent twice.

Rich messages (all of `wamesh.engines.rich`): sent media is read from its `MediaSource` to the end
and recorded with the size and sha256 of the bytes actually read (not what the store claims);
replies and mentions are recorded on the message; reactions, edits, revokes and forwards are
recorded as actions beside the messages and echoed as the events WhatsApp sends back
(`ReactionChanged`, `MessageEdited`, `MessageRevoked`, `MessageOut`). Edits and revokes apply to
the line's own messages only; a reaction or forward needs a message the line sent or received
(else `message_not_found`). The phone side injects inbound media (offered as
`MessageIn.download`, streaming the given bytes, or a `MediaSource` such as a stored media read
chunk by chunk, so no size needs to fit in memory), reactions, edits and revokes of a contact.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wamesh.engines.base import (
    Ack,
    AckChanged,
    Authenticated,
    Disconnected,
    Engine,
    EngineEvent,
    Failed,
    LoggedOut,
    MediaInfo,
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
)
from wamesh.engines.rich import MEDIA_TYPES, Edits, Forwards, Outgoing, Reacts, Revokes, SendsRich
from wamesh.errors import EngineError, InvalidInput, MessageNotFound, SessionNotReady
from wamesh.jid import USER_SERVER, parse_recipient
from wamesh.settings import Settings

_ACK_STEPS = (Ack.SERVER, Ack.DEVICE, Ack.READ)
RECONNECT_DELAY_S = 1.0
PAIRING_CODE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
PAIRING_CODE_TTL_S = 180.0


@dataclass(frozen=True)
class SandboxConfig:
    """Timing and storage of one sandbox line."""

    session_id: str
    data_dir: Path
    qr_interval_s: float = 20.0
    qr_max_rotations: int = 6
    ack_delay_s: float = 0.3
    reconnect_delay_s: float = RECONNECT_DELAY_S
    pairing_code_ttl_s: float = PAIRING_CODE_TTL_S


def fake_own_jid(session_id: str) -> str:
    """A stable fake phone number for the line: 1555 plus digits derived from its id."""
    digits = str(int(hashlib.sha256(session_id.encode()).hexdigest(), 16))[:7]
    return f"1555{digits}@{USER_SERVER}"


def new_pairing_code() -> str:
    """Eight random characters of WhatsApp's pairing alphabet (40 bits), shown as `XXXX-XXXX`."""
    code = "".join(secrets.choice(PAIRING_CODE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def _typed_code(code: str) -> bytes:
    """A code as typed, compared without case, spaces or the dash."""
    return code.strip().upper().replace("-", "").replace(" ", "").encode()


MEDIA_CHUNK = 64 * 1024


@dataclass(frozen=True)
class SandboxAction:
    """A reaction, edit, revoke or forward the simulated server received from the line."""

    kind: str
    chat_id: str
    message_id: str
    timestamp: datetime
    emoji: str = ""
    text: str = ""
    to: str = ""
    new_message_id: str = ""


@dataclass(frozen=True)
class Inbound:
    """A message a contact sends the line: text, or media of `type` with a caption (its bytes in
    `media`, or a `source` to stream them from; `mimetype` and `filename` override the source's)."""

    sender: str
    text: str = ""
    type: str = "text"
    media: bytes = b""
    source: MediaSource | None = None
    mimetype: str = ""
    filename: str = ""
    reply_to: str = ""
    mentions: tuple[str, ...] = field(default_factory=tuple)


class SentLog:
    """The simulated server's record of sent messages and actions, append-only on disk."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._by_id: dict[str, Message] = {}
        self._actions: list[SandboxAction] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        self.reload()

    @classmethod
    def of(cls, data_dir: Path, session_id: str) -> SentLog:
        """The log of line `session_id` under `data_dir`."""
        return cls(data_dir / session_id / "sent.jsonl")

    def reload(self) -> SentLog:
        """Re-read the file (another process may have appended)."""
        self._by_id.clear()
        self._actions.clear()
        if self._path.exists():
            for line in self._path.read_text().splitlines():
                if not line.strip():
                    continue
                record = json.loads(line)
                if "action" in record:
                    self._actions.append(_action_from_json(record["action"]))
                else:
                    message = _message_from_json(record)
                    self._by_id[message.id] = message
        return self

    def get(self, message_id: str) -> Message | None:
        """The recorded message with this id."""
        return self._by_id.get(message_id)

    def append(self, message: Message) -> None:
        """Record and fsync."""
        self._write(_message_to_json(message))
        self._by_id[message.id] = message

    def append_action(self, action: SandboxAction) -> None:
        """Record a reaction, edit, revoke or forward, and fsync."""
        data = asdict(action)
        data["timestamp"] = action.timestamp.isoformat()
        self._write({"action": data})
        self._actions.append(action)

    def _write(self, record: dict[str, object]) -> None:
        with self._path.open("a") as out:
            out.write(json.dumps(record) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def all(self) -> list[Message]:
        """Every recorded message, in send order."""
        return list(self._by_id.values())

    def actions(self) -> list[SandboxAction]:
        """Every recorded action, in order."""
        return list(self._actions)


def _message_to_json(message: Message) -> dict[str, object]:
    data = asdict(message)
    data["timestamp"] = message.timestamp.isoformat()
    data["ack"] = message.ack.value
    data["type"] = message.type.value
    data["mentions"] = list(message.mentions)
    return data


def _message_from_json(data: dict[str, object]) -> Message:
    fields = dict(data)
    fields["timestamp"] = datetime.fromisoformat(str(fields["timestamp"]))
    fields["ack"] = Ack(str(fields["ack"]))
    fields["type"] = MessageType(str(fields.get("type", "text")))
    fields["mentions"] = tuple(str(m) for m in fields.get("mentions") or ())  # type: ignore[attr-defined]
    media = fields.get("media")
    fields["media"] = MediaInfo(**media) if isinstance(media, dict) else None
    return Message(**fields)  # type: ignore[arg-type]


def _action_from_json(data: dict[str, object]) -> SandboxAction:
    fields = dict(data)
    fields["timestamp"] = datetime.fromisoformat(str(fields["timestamp"]))
    return SandboxAction(**fields)  # type: ignore[arg-type]


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), MEDIA_CHUNK):
        yield data[start : start + MEDIA_CHUNK]


async def _read_media(source: MediaSource) -> tuple[int, str]:
    """Read a source to its end: the size and sha256 of what was actually read."""
    digest = hashlib.sha256()
    size = 0
    async for chunk in source.open():
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


class SandboxEngine(Engine, PairsByCode, SendsRich, Reacts, Edits, Revokes, Forwards):
    """A line on a simulated phone."""

    kind = "sandbox"

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._qr_task: asyncio.Task[None] | None = None
        self._code_task: asyncio.Task[None] | None = None
        self._pairing: PairingCode | None = None
        self._token: str | None = None
        self._me = fake_own_jid(config.session_id)
        self._ready = False
        self._running = False
        self._log = SentLog.of(config.data_dir, config.session_id)
        self._received: dict[str, Message] = {}

    @classmethod
    def from_settings(cls, session_id: str, settings: Settings) -> SandboxEngine:
        """Configured from WAMESH_SANDBOX_* settings."""
        return cls(
            SandboxConfig(
                session_id=session_id,
                data_dir=Path(settings.sandbox_dir),
                qr_interval_s=settings.sandbox_qr_interval_s,
                qr_max_rotations=settings.sandbox_qr_max_rotations,
                ack_delay_s=settings.sandbox_ack_delay_ms / 1000,
                pairing_code_ttl_s=settings.sandbox_pairing_code_ttl_s,
            )
        )

    # Engine interface -------------------------------------------------------------------------

    async def start(self, auth_state: bytes | None) -> None:
        """Go straight to ready with valid auth state, else show QR codes."""
        self._running = True
        self._token = _parse_auth(auth_state, self._config.session_id)
        if self._token is not None:
            self._connect()
        else:
            self._qr_task = asyncio.create_task(self._rotate_qr(), name="sandbox-qr")

    async def stop(self) -> None:
        """Cancel timers and end the event stream."""
        if not self._running:
            return
        self._running = False
        self._ready = False
        showing = [t for t in (self._qr_task, self._code_task) if t is not None]
        for task in [*self._tasks, *showing]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[EngineEvent]:
        """Events until `stop`."""
        while (event := await self._queue.get()) is not None:
            yield event

    async def send_text(self, chat_id: str, text: str, message_id: str) -> Message:
        """Record the message on the simulated server (once per id) and start its acks."""
        return await self.send_message(Outgoing(chat_id, message_id, text))

    async def send_message(self, out: Outgoing) -> Message:
        """Record a rich message (media read to its end and hashed) once per id; acks follow."""
        known = self._log.get(out.message_id)
        if known is not None:
            return known
        self._require_ready()
        kind, media = MessageType.TEXT, None
        if out.media is not None:
            size, sha256 = await _read_media(out.media.source)
            info = out.media.info
            kind = out.media.kind
            media = MediaInfo(info.media_id, info.mimetype, size, sha256, info.filename)
        message = Message(
            id=out.message_id,
            chat_id=out.chat_id,
            sender=self._me,
            recipient=out.chat_id,
            from_me=True,
            text=out.text,
            timestamp=datetime.now(UTC),
            ack=Ack.PENDING,
            type=kind,
            reply_to=out.reply_to,
            mentions=out.mentions,
            media=media,
        )
        return self._record_sent(message)

    async def react(self, chat_id: str, message_id: str, emoji: str) -> None:
        """Record the line's reaction; WhatsApp echoes it as a reaction event."""
        self._require_ready()
        self._find(chat_id, message_id)
        now = datetime.now(UTC)
        self._log.append_action(SandboxAction("reaction", chat_id, message_id, now, emoji=emoji))
        self._emit(ReactionChanged(message_id, chat_id, self._me, emoji, True, now))

    async def edit(self, chat_id: str, message_id: str, text: str) -> None:
        """Record the edit of one of the line's messages; echoed as an edit event."""
        self._require_ready()
        self._own(chat_id, message_id)
        now = datetime.now(UTC)
        self._log.append_action(SandboxAction("edit", chat_id, message_id, now, text=text))
        self._emit(MessageEdited(message_id, chat_id, self._me, text, now))

    async def revoke(self, chat_id: str, message_id: str) -> None:
        """Record the deletion of one of the line's messages; echoed as a revoke event."""
        self._require_ready()
        self._own(chat_id, message_id)
        now = datetime.now(UTC)
        self._log.append_action(SandboxAction("revoke", chat_id, message_id, now))
        self._emit(MessageRevoked(message_id, chat_id, self._me, now))

    async def forward(
        self, chat_id: str, message_id: str, to_chat: str, new_message_id: str
    ) -> Message:
        """Send a copy of a message the line sent or received to `to_chat`, once per new id."""
        known = self._log.get(new_message_id)
        if known is not None:
            return known
        self._require_ready()
        original = self._find(chat_id, message_id)
        now = datetime.now(UTC)
        message = Message(
            id=new_message_id,
            chat_id=to_chat,
            sender=self._me,
            recipient=to_chat,
            from_me=True,
            text=original.text,
            timestamp=now,
            ack=Ack.PENDING,
            type=original.type,
            media=original.media,
        )
        self._log.append_action(
            SandboxAction(
                "forward", chat_id, message_id, now, to=to_chat, new_message_id=new_message_id
            )
        )
        return self._record_sent(message)

    async def logout(self) -> None:
        """Unpair; the auth state becomes void."""
        self._unpair("logged out by request")

    async def export_auth_state(self) -> bytes | None:
        """`{"v":1,"session_id","token"}` while paired."""
        if self._token is None:
            return None
        return json.dumps(
            {"v": 1, "session_id": self._config.session_id, "token": self._token}
        ).encode()

    async def request_pairing_code(self, phone: str) -> PairingCode:
        """Show a pairing code for `phone` instead of QR codes (see the module docstring)."""
        if self._ready or self._token is not None:
            raise InvalidInput("the line is already paired")
        if not (_running(self._qr_task) or _running(self._code_task)):
            raise InvalidInput("the line is not waiting to be paired")
        self._stop_showing()
        pairing = self._show_code(phone)
        self._code_task = asyncio.create_task(self._rotate_codes(phone), name="sandbox-code")
        return pairing

    # The simulated phone ----------------------------------------------------------------------

    def scan(self) -> str:
        """Scan the current QR code with the phone; returns the line's own JID."""
        if self._ready or self._token is not None:
            raise InvalidInput("the line is already paired; nothing to scan")
        if self._pairing is not None:
            raise InvalidInput("the line shows a pairing code, not a QR code")
        if not _running(self._qr_task):
            raise InvalidInput("the line is not showing a QR code")
        return self._pair()

    def enter_pairing_code(self, code: str) -> str:
        """Type the pairing code on the phone; the right one pairs the line like a scan."""
        if self._ready or self._token is not None:
            raise InvalidInput("the line is already paired; nothing to enter")
        pending = self._pairing
        if (
            pending is None
            or datetime.now(UTC) >= pending.expires_at
            or not secrets.compare_digest(_typed_code(code), _typed_code(pending.code))
        ):
            raise InvalidInput("wrong or expired pairing code", "code")
        return self._pair()

    def receive(self, sender: str, text: str) -> Message:
        """A contact sends the line a text message."""
        return self.receive_message(Inbound(sender, text))

    def receive_message(self, inbound: Inbound) -> Message:
        """A contact sends the line a message; media is offered as a download of its bytes."""
        self._require_ready()
        kind = _inbound_type(inbound)
        chat = parse_recipient(inbound.sender, "from")
        message = Message(
            id="3EB0" + secrets.token_hex(14).upper(),
            chat_id=chat,
            sender=chat,
            recipient=self._me,
            from_me=False,
            text=inbound.text,
            timestamp=datetime.now(UTC),
            ack=Ack.DEVICE,
            type=kind,
            reply_to=inbound.reply_to or None,
            mentions=tuple(parse_recipient(m, "mentions") for m in inbound.mentions),
        )
        download = _download(inbound) if kind in MEDIA_TYPES else None
        self._received[message.id] = message
        self._emit(MessageIn(message, download))
        return message

    def receive_reaction(self, sender: str, message_id: str, emoji: str) -> None:
        """A contact reacts to a message of the chat (empty emoji: removes its reaction)."""
        self._require_ready()
        chat = parse_recipient(sender, "from")
        self._find(chat, message_id)
        self._emit(ReactionChanged(message_id, chat, chat, emoji, False, datetime.now(UTC)))

    def receive_edit(self, sender: str, message_id: str, text: str) -> None:
        """A contact edits one of its messages."""
        self._require_ready()
        if not text:
            raise InvalidInput("text must not be empty", "text")
        chat = self._theirs(sender, message_id)
        self._emit(MessageEdited(message_id, chat, chat, text, datetime.now(UTC)))

    def receive_revoke(self, sender: str, message_id: str) -> None:
        """A contact deletes one of its messages for everyone."""
        self._require_ready()
        chat = self._theirs(sender, message_id)
        self._emit(MessageRevoked(message_id, chat, chat, datetime.now(UTC)))

    def set_ack(self, message_id: str, ack: Ack) -> None:
        """The recipient's phone reports an ack for a sent message."""
        message = self._log.get(message_id)
        if message is None:
            raise InvalidInput(f"no sent message with id {message_id}", "message_id")
        self._emit(AckChanged(message_id, message.chat_id, ack))

    def phone_disconnect(self, *, logout: bool) -> None:
        """The phone logs the line out, or the connection drops (and comes back by itself)."""
        self._require_ready()
        if logout:
            self._unpair("logged out from the phone")
            return
        self._ready = False
        self._emit(Disconnected("connection lost (sandbox)"))
        self._spawn(self._reconnect())

    def sent(self) -> list[Message]:
        """Every message the simulated server received from this line."""
        return self._log.all()

    @property
    def me(self) -> str:
        """The line's own JID."""
        return self._me

    # Internals --------------------------------------------------------------------------------

    def _emit(self, event: EngineEvent) -> None:
        if self._running:
            self._queue.put_nowait(event)

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _record_sent(self, message: Message) -> Message:
        self._log.append(message)
        self._emit(MessageOut(message))
        self._spawn(self._progress_acks(message))
        return message

    def _find(self, chat_id: str, message_id: str) -> Message:
        """A message of `chat_id` the line sent or received."""
        found = self._log.get(message_id) or self._received.get(message_id)
        if found is None or found.chat_id != chat_id:
            raise MessageNotFound(f"no message {message_id} in chat {chat_id}")
        return found

    def _own(self, chat_id: str, message_id: str) -> Message:
        found = self._log.get(message_id)
        if found is None or found.chat_id != chat_id:
            raise MessageNotFound(f"the line sent no message {message_id} in chat {chat_id}")
        return found

    def _theirs(self, sender: str, message_id: str) -> str:
        chat = parse_recipient(sender, "from")
        found = self._received.get(message_id)
        if found is None or found.sender != chat:
            raise MessageNotFound(f"{chat} sent the line no message {message_id}")
        return chat

    def _require_ready(self) -> None:
        if not self._ready:
            raise SessionNotReady(self._config.session_id, "not connected")

    def _pair(self) -> str:
        self._stop_showing()
        self._token = secrets.token_hex(16)
        self._connect()
        return self._me

    def _stop_showing(self) -> None:
        for task in (self._qr_task, self._code_task):
            if task is not None:
                task.cancel()
        self._pairing = None

    def _show_code(self, phone: str) -> PairingCode:
        expires = datetime.now(UTC) + timedelta(seconds=self._config.pairing_code_ttl_s)
        expires = expires.replace(microsecond=expires.microsecond // 1000 * 1000)  # as events say
        self._pairing = PairingCode(new_pairing_code(), phone, expires)
        self._emit(self._pairing)
        return self._pairing

    def _connect(self) -> None:
        self._ready = True
        self._emit(Authenticated())
        self._emit(Ready(self._me))

    def _unpair(self, reason: str) -> None:
        self._ready = False
        self._token = None
        self._emit(LoggedOut(reason))

    async def _rotate_qr(self) -> None:
        interval = self._config.qr_interval_s
        for rotation in range(1, self._config.qr_max_rotations + 1):
            expires = datetime.now(UTC) + timedelta(seconds=interval)
            code = f"2@{secrets.token_urlsafe(24)},{secrets.token_urlsafe(32)},sandbox,{rotation}"
            self._emit(Qr(code, expires, rotation))
            await asyncio.sleep(interval)
        rotations = self._config.qr_max_rotations
        self._emit(Failed(f"QR code not scanned after {rotations} rotations", "qr_timeout"))

    async def _rotate_codes(self, phone: str) -> None:
        codes = self._config.qr_max_rotations
        for _ in range(codes - 1):
            await asyncio.sleep(self._config.pairing_code_ttl_s)
            self._show_code(phone)
        await asyncio.sleep(self._config.pairing_code_ttl_s)
        self._pairing = None
        self._emit(Failed(f"pairing code not entered after {codes} codes", "qr_timeout"))

    async def _progress_acks(self, message: Message) -> None:
        for ack in _ACK_STEPS:
            await asyncio.sleep(self._config.ack_delay_s)
            self._emit(AckChanged(message.id, message.chat_id, ack))

    async def _reconnect(self) -> None:
        await asyncio.sleep(self._config.reconnect_delay_s)
        if self._running and self._token is not None:
            self._connect()


def _inbound_type(inbound: Inbound) -> MessageType:
    try:
        kind = MessageType(inbound.type or "text")
    except ValueError:
        raise InvalidInput(f"type: unknown message type {inbound.type!r}", "type") from None
    has_media = bool(inbound.media) or inbound.source is not None
    if inbound.media and inbound.source is not None:
        raise InvalidInput("give media bytes or a stored media_id, not both", "media")
    if kind is MessageType.TEXT:
        if not inbound.text:
            raise InvalidInput("text must not be empty", "text")
        if has_media:
            raise InvalidInput("media needs a media type (image, voice, ...)", "media")
    elif not has_media:
        raise InvalidInput(f"a {kind.value} message needs media bytes", "media")
    return kind


def _download(inbound: Inbound) -> MediaSource:
    """The inbound media as the download the line will store."""
    if inbound.source is not None:
        return replace(
            inbound.source,
            mimetype=inbound.mimetype or inbound.source.mimetype,
            filename=inbound.filename or inbound.source.filename,
        )
    data = inbound.media
    return MediaSource(
        mimetype=inbound.mimetype or "application/octet-stream",
        open=lambda: _chunks(data),
        filename=inbound.filename or None,
        size=len(data),
    )


def _running(task: asyncio.Task[None] | None) -> bool:
    return task is not None and not task.done()


def _parse_auth(auth_state: bytes | None, session_id: str) -> str | None:
    if not auth_state:
        return None
    try:
        data = json.loads(auth_state)
    except ValueError as exc:
        raise EngineError("sandbox auth state is not valid JSON") from exc
    if data.get("session_id") != session_id or not data.get("token"):
        return None
    return str(data["token"])
