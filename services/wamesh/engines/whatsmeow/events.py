"""neonize's events (its own protobuf classes, neonize/proto/Neonize_pb2) as our engine events.

What whatsmeow reports and what it becomes (one table, `Translator.handlers`):
    QR code (per rotation)          Qr (numbered; 60 s for the first, 20 s after: whatsmeow's
                                    qrchan), Failed(qr_timeout) once whatsmeow stops issuing them
    Device (neonize's first event)  nothing: the own LID noted (`note_me`)
    PairStatus SUCCESS / ERROR      Authenticated (own JID noted) / Failed
    Connected                       Authenticated (first time only) and Ready(own JID, own LID)
    Message                         MessageIn / MessageOut by content kind (`CONTENT`: text,
                                    media, location, contact cards, polls V1/V2/V3/V5/V6), or
                                    ReactionChanged, MessageEdited, MessageRevoked (`PROTOCOL`),
                                    or PollVoted (a vote on a remembered poll, polls.py)
    Receipt                         AckChanged per message id (`RECEIPTS`)
    ChatPresence, Presence          PresenceChanged
    Disconnected, KeepAliveTimeout, Disconnected (whatsmeow reconnects by itself), and for a
    StreamReplaced, ConnectFailure  replaced stream, which it does not: another client took over
    LoggedOut                       LoggedOut, once
    TemporaryBan, ClientOutdated    Failed
A message kind not in the tables is logged and not delivered (e.g. live locations, polls V4 wrapped
in a FutureProofMessage, events). `body_of` reads a message's content for received messages and
for the ones the engine sends alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from neonize.aioze.events import (
    ChatPresenceEv,
    ClientOutdatedEv,
    ConnectedEv,
    ConnectFailureEv,
    DisconnectedEv,
    KeepAliveRestoredEv,
    KeepAliveTimeoutEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    PresenceEv,
    ReceiptEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.events import UndecryptableMessageEv  # not re-exported by neonize.aioze.events
from neonize.proto.Neonize_pb2 import ConnectFailureReason

from wamesh.engines.base import (
    Ack,
    AckChanged,
    Authenticated,
    ContactCard,
    Disconnected,
    EngineEvent,
    Failed,
    Location,
    LoggedOut,
    MediaSource,
    Message,
    MessageEdited,
    MessageIn,
    MessageOut,
    MessageRevoked,
    MessageType,
    Poll,
    PollVoted,
    PresenceChanged,
    Qr,
    ReactionChanged,
    Ready,
)
from wamesh.engines.rich import MEDIA_TYPES
from wamesh.engines.whatsmeow.jids import device_string, from_jid, non_ad, to_jid
from wamesh.engines.whatsmeow.polls import KnownPoll, Polls, open_vote
from wamesh.structured import vcard_name

_LOGGER = logging.getLogger(__name__)
# whatsmeow's qrchan.go: the first code lives 60 s, each later one 20 s.
FIRST_QR_S, NEXT_QR_S = 60, 20
# Receipt.ReceiptType names (Neonize.proto) as acks; the others (SENDER, RETRY, *_SELF...) are
# about the line's own devices or retries and change no ack.
RECEIPTS = {
    "DELIVERED": Ack.DEVICE,
    "READ": Ack.READ,
    "PLAYED": Ack.PLAYED,
    "SERVER_ERROR": Ack.ERROR,
}
# waE2E.Message fields that carry a message of ours, in the order they are looked for.
CONTENT: tuple[tuple[str, MessageType], ...] = (
    ("conversation", MessageType.TEXT),
    ("extendedTextMessage", MessageType.TEXT),
    ("imageMessage", MessageType.IMAGE),
    ("videoMessage", MessageType.VIDEO),
    ("audioMessage", MessageType.AUDIO),
    ("documentMessage", MessageType.DOCUMENT),
    ("stickerMessage", MessageType.STICKER),
    ("locationMessage", MessageType.LOCATION),
    ("contactMessage", MessageType.CONTACT),
    ("contactsArrayMessage", MessageType.CONTACT),
    ("pollCreationMessage", MessageType.POLL),
    ("pollCreationMessageV2", MessageType.POLL),
    ("pollCreationMessageV3", MessageType.POLL),
    ("pollCreationMessageV5", MessageType.POLL),
    ("pollCreationMessageV6", MessageType.POLL),
)
# Wrappers whose `.message` holds the real content.
WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
)
PRESENCES = {("COMPOSING", "TEXT"): "typing", ("COMPOSING", "AUDIO"): "recording"}
# Neonize.proto ChatPresence / Receipt enums as names.
_CHAT_STATE = {1: "COMPOSING", 2: "PAUSED"}
_CHAT_MEDIA = {1: "TEXT", 2: "AUDIO"}

Download = Callable[[Any, MessageType], MediaSource]


def moment(value: int) -> datetime:
    """A neonize timestamp (seconds, milliseconds or nanoseconds by call site) as a datetime."""
    seconds = float(value)
    if seconds > 1e17:
        seconds /= 1e9
    elif seconds > 1e11:
        seconds /= 1e3
    return datetime.fromtimestamp(seconds, UTC)


def unwrap(content: Any) -> Any:
    """The waE2E.Message inside ephemeral / view-once / document-with-caption wrappers."""
    for name in WRAPPERS:
        if content.HasField(name):
            return unwrap(getattr(content, name).message)
    return content


def content_kind(content: Any) -> tuple[str, MessageType] | None:
    """The field and type of a message's content, or None for kinds not delivered."""
    for name, kind in CONTENT:
        if content.HasField(name):
            if name == "audioMessage" and content.audioMessage.PTT:
                return name, MessageType.VOICE
            return name, kind
    return None


def text_of(content: Any, field: str) -> str:
    """The text of a text message, or the caption of a media message."""
    if field == "conversation":
        return str(content.conversation)
    body = getattr(content, field)
    for name in ("text", "caption"):
        if name in body.DESCRIPTOR.fields_by_name:
            return str(getattr(body, name))
    return ""


def context_of(content: Any, field: str) -> tuple[str | None, tuple[str, ...]]:
    """The quoted message id and the mentioned JIDs of a message."""
    if field == "conversation":
        return None, ()
    body = getattr(content, field)
    if "contextInfo" not in body.DESCRIPTOR.fields_by_name or not body.HasField("contextInfo"):
        return None, ()
    info = body.contextInfo
    return (str(info.stanzaID) or None), tuple(str(j) for j in info.mentionedJID)


@dataclass(frozen=True)
class Body:
    """What a waE2E.Message carries, as the content fields of our Message."""

    type: MessageType = MessageType.TEXT
    text: str = ""
    reply_to: str | None = None
    mentions: tuple[str, ...] = ()
    location: Location | None = None
    contacts: tuple[ContactCard, ...] = ()
    poll: Poll | None = None


def body_of(content: Any) -> Body | None:
    """The content of a message (unwrapped), or None for kinds not delivered."""
    kind = content_kind(content)
    if kind is None:
        return None
    field, type_ = kind
    reply_to, mentions = context_of(content, field)
    body = Body(type_, text_of(content, field), reply_to, mentions)
    if type_ not in (MessageType.LOCATION, MessageType.CONTACT, MessageType.POLL):
        return body
    return Body(type_, "", reply_to, mentions, *structured_of(getattr(content, field), field))


def structured_of(
    body: Any, field: str
) -> tuple[Location | None, tuple[ContactCard, ...], Poll | None]:
    """A location, contact cards or poll message as ours (empty texts are absent, as wherever a
    location enters; a card without a display name is named by its vCard's FN)."""
    if field == "locationMessage":
        location = Location(
            float(body.degreesLatitude),
            float(body.degreesLongitude),
            str(body.name) or None,
            str(body.address) or None,
            str(body.URL) or None,
        )
        return location, (), None
    if field == "contactMessage":
        return None, (card_of(body),), None
    if field == "contactsArrayMessage":
        return None, tuple(card_of(c) for c in body.contacts), None
    options = tuple(str(o.optionName) for o in body.options)
    return None, (), Poll(str(body.name), options, int(body.selectableOptionsCount))


def card_of(contact: Any) -> ContactCard:
    """A ContactMessage as a contact card."""
    vcard = str(contact.vcard)
    return ContactCard((str(contact.displayName) or vcard_name(vcard)).strip(), vcard)


def message_secret(content: Any) -> bytes:
    """A message's secret (messageContextInfo; whatsmeow moves it onto the unwrapped message,
    types/events/events.go UnwrapRaw), b"" when it has none."""
    for candidate in (unwrap(content), content):
        secret = bytes(candidate.messageContextInfo.messageSecret)
        if secret:
            return secret
    return b""


def message_of(body: Body, **envelope: Any) -> Message:
    """A Message of `body` and its envelope (id, chat_id, sender, recipient, from_me,
    timestamp, ack)."""
    return Message(
        **envelope,
        text=body.text,
        type=body.type,
        reply_to=body.reply_to,
        mentions=body.mentions,
        location=body.location,
        contacts=body.contacts,
        poll=body.poll,
    )


def remember_poll(polls: Polls, message: Message, content: Any) -> None:
    """Note a poll the line sent or received, for its votes (a poll without a secret has no
    votes anyone could open)."""
    secret = message_secret(content)
    if message.poll is None or not secret:
        return
    polls.add(message.id, KnownPoll(message.chat_id, message.poll, secret, non_ad(message.sender)))


class Translator:
    """Turns neonize events into engine events; remembers the own JID and LID and numbers QR
    codes."""

    def __init__(self, device: str | None, download: Download, polls: Polls) -> None:
        self.device = device  # the own device, `user:device@server` (whatsmeow's JID.String())
        self.me = from_jid(to_jid(device)) if device else None
        self.lid: str | None = None  # the own LID, `user@lid` (whatsmeow's Store.LID)
        self.connections = 0
        self._download = download
        self._polls = polls
        self._rotation = 0
        self._authenticated = False
        self._logged_out = False

    def handlers(self) -> dict[type[Any], Callable[[Any], list[EngineEvent]]]:
        """The neonize event classes this engine subscribes to, each with its translation."""
        return {
            PairStatusEv: self.pair_status,
            ConnectedEv: self.connected,
            MessageEv: self.message,
            ReceiptEv: self.receipt,
            ChatPresenceEv: self.chat_presence,
            PresenceEv: self.presence,
            DisconnectedEv: lambda _: [Disconnected("the connection to WhatsApp was lost")],
            KeepAliveTimeoutEv: self.keepalive_timeout,
            KeepAliveRestoredEv: self.connected,
            StreamReplacedEv: lambda _: [
                Disconnected("another client took over this session (stream replaced)")
            ],
            ConnectFailureEv: self.connect_failure,
            LoggedOutEv: self.logged_out,
            TemporaryBanEv: self.temporary_ban,
            ClientOutdatedEv: lambda _: [
                Failed("WhatsApp refuses this whatsmeow version (405)", "engine_incompatible")
            ],
            UndecryptableMessageEv: self.undecryptable,
        }

    def qr(self, code: str) -> list[EngineEvent]:
        """A QR code whatsmeow shows (one per rotation)."""
        self._rotation += 1
        lifetime = FIRST_QR_S if self._rotation == 1 else NEXT_QR_S
        return [Qr(code, datetime.now(UTC) + timedelta(seconds=lifetime), self._rotation)]

    def qr_timeout(self) -> list[EngineEvent]:
        """whatsmeow issued its last QR code and it expired unscanned."""
        reason = f"QR code not scanned after {self._rotation} rotations"
        return [Failed(reason, "qr_timeout")]

    def note_me(self, device: Any) -> None:
        """The own device as neonize's dispatcher delivers it before any other event of a
        session (a `Device`, whatsmeow's Store.ID and Store.LID): its LID, when it has one
        (neonize's PairStatus carries none: FACTS.md)."""
        self.lid = from_jid(device.LID) or self.lid

    def pair_status(self, event: Any) -> list[EngineEvent]:
        """PairSuccess: the phone accepted; PairError: the pairing failed."""
        if event.Status == PairStatusEv.SUCCESS:
            self.device, self.me = device_string(event.ID), from_jid(event.ID)
            self._authenticated = True
            return [Authenticated()]
        return [Failed(f"pairing failed: {event.Error or 'unknown error'}", "engine_error")]

    def connected(self, _: Any) -> list[EngineEvent]:
        """Connected (or keepalives answered again): ready as the own JID (from the store or
        the pairing) with the own LID when known."""
        self.connections += 1
        if self.me is None:
            _LOGGER.warning("connected without a known own JID; waiting for the pairing")
            return []
        events: list[EngineEvent] = [] if self._authenticated else [Authenticated()]
        self._authenticated = True
        return [*events, Ready(self.me, self.lid)]

    def message(self, event: Any) -> list[EngineEvent]:
        """A message, a reaction, an edit, a revoke or a poll vote."""
        content = unwrap(event.Message)
        if content.HasField("reactionMessage"):
            return [self._reaction(event, content.reactionMessage)]
        if content.HasField("protocolMessage") or content.HasField("editedMessage"):
            return self._protocol(event, content)
        if content.HasField("pollUpdateMessage"):
            return self._vote(event, content.pollUpdateMessage)
        body = body_of(content)
        if body is None:
            _LOGGER.info("message %s of an undelivered kind skipped", event.Info.ID)
            return []
        source, info = event.Info.MessageSource, event.Info
        chat = from_jid(source.Chat)
        message = message_of(
            body,
            id=str(info.ID),
            chat_id=chat,
            sender=from_jid(source.Sender),
            recipient=chat if source.IsFromMe or source.IsGroup else (self.me or ""),
            from_me=bool(source.IsFromMe),
            timestamp=moment(info.Timestamp),
            ack=Ack.SERVER if source.IsFromMe else Ack.DEVICE,
        )
        if source.IsFromMe:
            return [MessageOut(message)]
        download = self._download(content, body.type) if body.type in MEDIA_TYPES else None
        return [MessageIn(message, download)]

    def _vote(self, event: Any, update: Any) -> list[EngineEvent]:
        """A vote on a poll the line saw in this run, opened with the poll's secret."""
        poll_id = str(update.pollCreationMessageKey.ID)
        known = self._polls.get(poll_id)
        if known is None:
            _LOGGER.info("vote %s on poll %s not seen in this run skipped", event.Info.ID, poll_id)
            return []
        source = event.Info.MessageSource
        selected = open_vote(known, update, source)
        if selected is None:
            return []
        voter, when = from_jid(source.Sender), moment(event.Info.Timestamp)
        return [PollVoted(poll_id, known.chat_id, voter, selected, when)]

    def _reaction(self, event: Any, reaction: Any) -> EngineEvent:
        source = event.Info.MessageSource
        return ReactionChanged(
            str(reaction.key.ID),
            from_jid(source.Chat),
            from_jid(source.Sender),
            str(reaction.text),
            bool(source.IsFromMe),
            moment(event.Info.Timestamp),
        )

    def _protocol(self, event: Any, content: Any) -> list[EngineEvent]:
        protocol = (
            content.editedMessage.message.protocolMessage
            if content.HasField("editedMessage")
            else content.protocolMessage
        )
        source = event.Info.MessageSource
        chat, sender = from_jid(source.Chat), from_jid(source.Sender)
        when = moment(event.Info.Timestamp)
        if protocol.type == protocol.REVOKE:
            return [MessageRevoked(str(protocol.key.ID), chat, sender, when)]
        if protocol.type == protocol.MESSAGE_EDIT:
            edited = unwrap(protocol.editedMessage)
            kind = content_kind(edited)
            text = text_of(edited, kind[0]) if kind else ""
            return [MessageEdited(str(protocol.key.ID), chat, sender, text, when)]
        return []

    def receipt(self, event: Any) -> list[EngineEvent]:
        """Delivered / read / played receipts of the line's messages."""
        name = ReceiptEv.ReceiptType.Name(event.Type)
        ack = RECEIPTS.get(name)
        if ack is None:
            return []
        chat = from_jid(event.MessageSource.Chat)
        return [AckChanged(str(mid), chat, ack) for mid in event.MessageIDs]

    def chat_presence(self, event: Any) -> list[EngineEvent]:
        """Someone typing, recording or pausing in a chat."""
        state = _CHAT_STATE.get(event.State, "PAUSED")
        media = _CHAT_MEDIA.get(event.Media, "TEXT")
        source = event.MessageSource
        return [
            PresenceChanged(
                from_jid(source.Chat),
                from_jid(source.Sender),
                PRESENCES.get((state, media), "paused"),
                datetime.now(UTC),
            )
        ]

    def presence(self, event: Any) -> list[EngineEvent]:
        """A contact came online or went offline (after subscribing to them)."""
        jid = from_jid(event.From)
        presence = "unavailable" if event.Unavailable else "available"
        return [PresenceChanged(jid, jid, presence, datetime.now(UTC))]

    def keepalive_timeout(self, event: Any) -> list[EngineEvent]:
        """whatsmeow's keepalive failed; it reconnects by itself after a few."""
        reason = f"WhatsApp stopped answering keepalives ({event.ErrorCount} missed)"
        return [Disconnected(reason)]

    def connect_failure(self, event: Any) -> list[EngineEvent]:
        """WhatsApp refused the connection (whatsmeow retries where that makes sense)."""
        name = ConnectFailureReason.Name(event.Reason)
        return [Disconnected(f"WhatsApp refused the connection: {name} {event.Message}".strip())]

    def logged_out(self, event: Any) -> list[EngineEvent]:
        """The device was removed (from the phone, or by `logout`); once."""
        if self._logged_out:
            return []
        self._logged_out = True
        where = "while connecting" if event.OnConnect else "from the phone"
        reason = ConnectFailureReason.Name(event.Reason)
        return [LoggedOut(f"logged out {where} ({reason})")]

    def logged_out_by_us(self) -> list[EngineEvent]:
        """`logout` went through (whatsmeow reports no event for its own Logout)."""
        if self._logged_out:
            return []
        self._logged_out = True
        return [LoggedOut("logged out through wamesh")]

    def temporary_ban(self, event: Any) -> list[EngineEvent]:
        """WhatsApp banned the number for a while."""
        code = TemporaryBanEv.TempBanReason.Name(event.Code)
        reason = f"WhatsApp banned this number temporarily ({code}, {event.Expire} s)"
        return [Failed(reason, "engine_error", {"ban": code})]

    def undecryptable(self, event: Any) -> list[EngineEvent]:
        """Logged: whatsmeow asks the sender to retry, and the message follows when it does."""
        _LOGGER.warning("message %s not decrypted yet; whatsmeow asked for a retry", event.Info.ID)
        return []
