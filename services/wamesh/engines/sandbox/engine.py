"""The sandbox engine: a line on a simulated phone and WhatsApp server, for offline use and CI.

It behaves like a line on WhatsApp Web: it shows QR codes or pairing codes while unpaired
(`PairingScreen`), a `scan()` or `enter_pairing_code()` on the simulated phone pairs it exactly
alike, whatever number a code was requested for; then a fake own JID and that number's fake LID
(`contacts.lid_of`), sent messages recorded in the `SentLog` with their ack progression (server,
device, read), injectable inbound messages (`Inbound`), acks, phone-side disconnects and logouts,
and auth state that, restored, goes straight to ready.

Rich messages (all of `wamesh.engines.rich`): sent media is read from its `MediaSource` to the end
and recorded with the size and sha256 of the bytes actually read (not what the store claims);
replies and mentions are recorded on the message; reactions, edits, revokes and forwards are
recorded as actions beside the messages and echoed as the events WhatsApp sends back
(`ReactionChanged`, `MessageEdited`, `MessageRevoked`, `MessageOut`). Edits and revokes apply to
the line's own messages only; a reaction or forward needs a message the line sent or received
(else `message_not_found`). The phone side injects inbound media, reactions, edits and revokes of
a contact, and marks numbers as not on WhatsApp: checks (`Directory`) answer exists=False for
them and sends or forwards to them are refused as `not_on_whatsapp`.

Structured messages (locations, contact cards, polls) are sent and injected like any other;
a contact's vote on a poll of the chat (the line's or a received one) is checked against the
poll's options and limit and reported as `PollVoted` with the voter's whole selection.

What the simulated server knows besides the sent log (numbers marked not on WhatsApp, numbers
met, groups and their members, received messages) survives a worker restart (`ServerState`).

Groups (`Groups`): the phone side puts the line in groups and changes their members
(`GroupParticipantsChanged`); a contact's message injected `from` a group with an `author` is a
group message. Read marks, presence the line sets and presence subscriptions are recorded as
actions (`read`, `presence`, `subscribe`); a contact's presence is injected as `PresenceChanged`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from wamesh.engines.base import (
    Ack,
    AckChanged,
    Authenticated,
    Disconnected,
    Engine,
    EngineEvent,
    LoggedOut,
    MediaInfo,
    MediaSource,
    Message,
    MessageEdited,
    MessageIn,
    MessageOut,
    MessageRevoked,
    PairingCode,
    PairsByCode,
    PollVoted,
    PresenceChanged,
    ReactionChanged,
    Ready,
)
from wamesh.engines.rich import (
    MEDIA_TYPES,
    STRUCTURED_TYPES,
    ChatPresence,
    ChecksNumbers,
    ContactInfo,
    Edits,
    Forwards,
    GroupInfo,
    MarksPresence,
    Outgoing,
    Participant,
    Reacts,
    ReadsGroups,
    Revokes,
    SendsRich,
    SubscribesPresence,
)
from wamesh.engines.sandbox.config import SandboxConfig, fake_own_jid
from wamesh.engines.sandbox.contacts import Directory, lid_of
from wamesh.engines.sandbox.groups import PRESENCES, Groups
from wamesh.engines.sandbox.inbound import (
    Inbound,
    checked_content,
    inbound_download,
    inbound_type,
)
from wamesh.engines.sandbox.pairing import PairingScreen
from wamesh.engines.sandbox.sent_log import SandboxAction, SentLog
from wamesh.engines.sandbox.server_state import ServerState
from wamesh.errors import (
    AlreadyPaired,
    EngineError,
    InvalidInput,
    MessageNotFound,
    SessionNotReady,
    Unprocessable,
)
from wamesh.jid import GROUP_SERVER, parse_recipient
from wamesh.settings import Settings
from wamesh.structured import check_vote

_ACK_STEPS = (Ack.SERVER, Ack.DEVICE, Ack.READ)


async def _read_media(source: MediaSource) -> tuple[int, str]:
    """Read a source to its end: the size and sha256 of what was actually read."""
    digest = hashlib.sha256()
    size = 0
    async for chunk in source.open():
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


class SandboxEngine(
    Engine,
    PairsByCode,
    SendsRich,
    Reacts,
    Edits,
    Revokes,
    Forwards,
    ChecksNumbers,
    ReadsGroups,
    MarksPresence,
    SubscribesPresence,
):
    """A line on a simulated phone."""

    kind = "sandbox"
    structured_kinds = STRUCTURED_TYPES

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._screen = PairingScreen(config, self._emit)
        self._token: str | None = None
        self._me = fake_own_jid(config.session_id)
        self._lid = lid_of(self._me.partition("@")[0])  # its own number's fake LID
        self._ready = False
        self._running = False
        self._log = SentLog.of(config.data_dir, config.session_id)
        self._received: dict[str, Message] = {}
        self._directory = Directory()
        self._groups = Groups()
        for sent in self._log.all():
            self._directory.meet(sent.chat_id)
        self._server = ServerState.of(config.data_dir, config.session_id)
        self._server.replay(self._directory, self._groups, self._received)

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
            self._screen.show_qr()

    async def stop(self) -> None:
        """Cancel timers and end the event stream."""
        if not self._running:
            return
        self._running = False
        self._ready = False
        for task in [*self._tasks, *self._screen.timers()]:
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
            await self._log.sync()
            return known
        self._require_ready()
        self._directory.require_on_whatsapp(out.chat_id)
        media = None
        if out.media is not None:
            size, sha256 = await _read_media(out.media.source)
            info = out.media.info
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
            type=out.type,
            reply_to=out.reply_to,
            mentions=out.mentions,
            media=media,
            location=out.location,
            contacts=out.contacts,
            poll=out.poll,
        )
        return await self._record_sent(message)

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
            await self._log.sync()
            return known
        self._require_ready()
        self._directory.require_on_whatsapp(to_chat)
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
            location=original.location,
            contacts=original.contacts,
            poll=original.poll,
        )
        self._log.append_action(
            SandboxAction(
                "forward", chat_id, message_id, now, to=to_chat, new_message_id=new_message_id
            )
        )
        return await self._record_sent(message)

    async def check_contact(self, jid: str) -> ContactInfo:
        """A number or LID looked up in the simulated server's `Directory`."""
        self._require_ready()
        found = self._directory.check(jid)
        if found.exists and found.jid is not None:
            self._server.met(found.jid)
        return found

    async def list_groups(self) -> list[GroupInfo]:
        """The groups the phone side put the line in."""
        self._require_ready()
        return self._groups.all()

    async def group_info(self, group_jid: str) -> GroupInfo:
        """One of them with its members (NotFound when the line is in no such group)."""
        self._require_ready()
        return self._groups.get(group_jid)

    async def mark_read(self, chat_id: str) -> None:
        """Record a read mark of the chat."""
        self._require_ready()
        self._log.append_action(SandboxAction("read", chat_id, "", datetime.now(UTC)))

    async def set_presence(self, chat_id: str | None, presence: ChatPresence) -> None:
        """Record what the line shows (in a chat, or everywhere for online / offline)."""
        self._require_ready()
        now = datetime.now(UTC)
        self._log.append_action(
            SandboxAction("presence", chat_id or "", "", now, presence=presence.value)
        )

    async def subscribe_presence(self, jid: str) -> None:
        """Record the subscription (`subscribe`, of `jid`); injected presence needs none."""
        self._require_ready()
        self._log.append_action(SandboxAction("subscribe", jid, "", datetime.now(UTC)))

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
        """Show pairing codes for `phone` instead of QR codes (see `PairingScreen`)."""
        if self._ready or self._token is not None:
            raise InvalidInput("the line is already paired")
        return self._screen.show_codes(phone)

    # The simulated phone ----------------------------------------------------------------------

    def scan(self) -> str:
        """Scan the current QR code with the phone; returns the line's own JID."""
        if self._ready or self._token is not None:
            raise AlreadyPaired(self._config.session_id, "ready" if self._ready else "paired")
        self._screen.check_scan()
        return self._pair()

    def enter_pairing_code(self, code: str) -> str:
        """Type the pairing code on the phone; the right one pairs the line like a scan."""
        if self._ready or self._token is not None:
            raise AlreadyPaired(self._config.session_id, "ready" if self._ready else "paired")
        self._screen.check_code(code)
        return self._pair()

    def receive(self, sender: str, text: str) -> Message:
        """A contact sends the line a text message."""
        return self.receive_message(Inbound(sender, text))

    def receive_message(self, inbound: Inbound) -> Message:
        """A contact sends the line a message; media is offered as a download of its bytes."""
        self._require_ready()
        kind = inbound_type(inbound)
        inbound = checked_content(inbound)
        chat = parse_recipient(inbound.sender, "from")
        author = _author(chat, inbound.author)
        message = Message(
            id="3EB0" + secrets.token_hex(14).upper(),
            chat_id=chat,
            sender=author,
            recipient=self._me,
            from_me=False,
            text=inbound.text,
            timestamp=datetime.now(UTC),
            ack=Ack.DEVICE,
            type=kind,
            reply_to=inbound.reply_to or None,
            mentions=tuple(parse_recipient(m, "mentions") for m in inbound.mentions),
            location=inbound.location,
            contacts=inbound.contacts,
            poll=inbound.poll,
        )
        download = inbound_download(inbound) if kind in MEDIA_TYPES else None
        self._received[message.id] = message
        self._server.received(message)
        self._directory.meet(author)
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
        if not text.strip():
            raise InvalidInput("text must not be blank", "text")
        chat = self._theirs(sender, message_id)
        self._emit(MessageEdited(message_id, chat, chat, text, datetime.now(UTC)))

    def receive_revoke(self, sender: str, message_id: str) -> None:
        """A contact deletes one of its messages for everyone."""
        self._require_ready()
        chat = self._theirs(sender, message_id)
        self._emit(MessageRevoked(message_id, chat, chat, datetime.now(UTC)))

    def receive_poll_vote(
        self, sender: str, chat_id: str, poll_id: str, selected: tuple[str, ...]
    ) -> None:
        """A contact votes on a poll of the chat (`chat_id` empty: its 1:1 chat); `selected` is
        its whole selection (empty withdraws its vote)."""
        self._require_ready()
        voter = parse_recipient(sender, "from")
        chat = parse_recipient(chat_id, "chat_id") if chat_id else voter
        poll = self._find(chat, poll_id).poll
        if poll is None:
            raise Unprocessable(f"message {poll_id} is not a poll", "message_id")
        chosen = check_vote(poll, selected)
        self._emit(PollVoted(poll_id, chat, voter, chosen, datetime.now(UTC)))

    def mark_not_on_whatsapp(self, phone: str) -> str:
        """The simulated server knows `phone` as not on WhatsApp; returns its digits."""
        digits = self._directory.mark_absent(phone)
        self._server.absent(digits)
        return digits

    def create_group(
        self, subject: str, members: tuple[Participant, ...], description: str = ""
    ) -> str:
        """The simulated server puts the line in a new group; returns its JID."""
        self._require_ready()
        jid = self._groups.create(subject, members, description)
        self._server.group(self._groups.get(jid))
        return jid

    def change_participants(
        self, group: str, action: str, members: tuple[str, ...], author: str = ""
    ) -> None:
        """Members of a group change (added, removed, left, joined, promoted, demoted)."""
        self._require_ready()
        change = self._groups.change(group, action, members, author)
        self._server.group(self._groups.get(change.group_jid))
        self._emit(change)

    def receive_presence(self, chat_id: str, jid: str, presence: str) -> None:
        """A contact's presence in a chat (available, unavailable, typing, recording, paused)."""
        self._require_ready()
        if presence not in PRESENCES:
            raise InvalidInput(f"presence: one of {', '.join(PRESENCES)}", "presence")
        chat = parse_recipient(chat_id, "chat_id")
        who = parse_recipient(jid, "jid")
        self._emit(PresenceChanged(chat, who, presence, datetime.now(UTC)))

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

    async def _record_sent(self, message: Message) -> Message:
        await self._log.append(message)
        self._directory.meet(message.chat_id)
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
        self._screen.hide()
        self._token = secrets.token_hex(16)
        self._connect()
        return self._me

    def _connect(self) -> None:
        self._ready = True
        self._emit(Authenticated())
        self._emit(Ready(self._me, self._lid))

    def _unpair(self, reason: str) -> None:
        self._ready = False
        self._token = None
        self._emit(LoggedOut(reason))

    async def _progress_acks(self, message: Message) -> None:
        for ack in _ACK_STEPS:
            await asyncio.sleep(self._config.ack_delay_s)
            self._emit(AckChanged(message.id, message.chat_id, ack))

    async def _reconnect(self) -> None:
        await asyncio.sleep(self._config.reconnect_delay_s)
        if self._running and self._token is not None:
            self._connect()


def _author(chat: str, author: str) -> str:
    """Who wrote an inbound message: the `author` in a group (required), else the chat (a
    contact's own message names no author)."""
    if chat.endswith("@" + GROUP_SERVER):
        if not author:
            raise InvalidInput("author: required for a group message", "author")
        return parse_recipient(author, "author")
    if author:
        raise InvalidInput("author: only a group's message has one (from is a contact)", "author")
    return chat


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
