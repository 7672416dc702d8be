"""The engine seam: one small interface between a session worker and WhatsApp.

An engine drives one line. The worker starts it with the auth state it restored (or None), reads
its normalised events, asks it to send and to log out, and exports its auth state to save it.
Engines never touch the database or Redis: persistence is the worker's.

Event flow of a line: (`Qr` | `PairingCode`)* -> `Authenticated` -> `Ready` -> (`MessageIn` |
`MessageOut` | `AckChanged`)* -> `Disconnected` | `LoggedOut` | `Failed`. An engine restored
from good auth state goes straight to `Authenticated`/`Ready` without a `Qr`. The event stream
ends when the engine stops.

Message ids: the worker derives a message id from the client message id (`message_id_for`) and
passes it to `send_text`; an engine that already sent a message with that id returns it again
instead of sending twice. That is what makes sends idempotent across worker crashes.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from wamesh.record import Record


class Ack(StrEnum):
    """Delivery state of a message (WhatsApp's -1..4)."""

    ERROR = "error"
    PENDING = "pending"
    SERVER = "server"
    DEVICE = "device"
    READ = "read"
    PLAYED = "played"


class MessageType(StrEnum):
    """What a message carries: text, a media kind (`MEDIA_TYPES` of wamesh.engines.rich) or a
    structured kind (`STRUCTURED_TYPES`: location, contact cards, poll)."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    POLL = "poll"


@dataclass(frozen=True, eq=False, repr=False)
class MediaInfo(Record):
    """Media stored in the line's MediaStore (received, or sent from an upload or a URL)."""

    media_id: str
    mimetype: str
    size: int
    sha256: str
    filename: str | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Location(Record):
    """A shared location: degrees, and what WhatsApp shows under the map."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


@dataclass(frozen=True, eq=False, repr=False)
class ContactCard(Record):
    """A contact card: the name shown and its vCard text."""

    name: str
    vcard: str


@dataclass(frozen=True, eq=False, repr=False)
class Poll(Record):
    """A poll: question, distinct options, and how many a voter may choose (0, the default as in
    WhatsApp's composer: any number)."""

    question: str
    options: tuple[str, ...]
    selectable_count: int = 0


@dataclass(frozen=True, eq=False, repr=False)
class Message(Record):
    """A message; chat ids are normalised JIDs (see wamesh.jid).

    `text` is the body of a text message and the caption of a media message. `media` is set once
    the media is stored (an engine reports received media with `MessageIn.download`).
    `location`, `contacts` and `poll` are set for those types (`text` is then empty)."""

    id: str
    chat_id: str
    sender: str
    recipient: str
    from_me: bool
    text: str
    timestamp: datetime
    ack: Ack = Ack.PENDING
    type: MessageType = MessageType.TEXT
    reply_to: str | None = None
    mentions: tuple[str, ...] = ()
    media: MediaInfo | None = None
    location: Location | None = None
    contacts: tuple[ContactCard, ...] = ()
    poll: Poll | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Qr(Record):
    """A QR code to scan; `code` is the string the QR encodes."""

    code: str
    expires_at: datetime
    rotation: int


@dataclass(frozen=True, eq=False, repr=False)
class PairingCode(Record):
    """A code to type on the phone (Linked devices > Link with phone number), e.g. `ABCD-EFGH`."""

    code: str
    phone: str
    expires_at: datetime


@dataclass(frozen=True, eq=False, repr=False)
class Authenticated(Record):
    """The phone accepted the pairing (or restored auth state was valid)."""


@dataclass(frozen=True, eq=False, repr=False)
class Ready(Record):
    """The line can send and receive; `me` is its own JID, `lid` its own LID (`…@lid`) when the
    engine knows it."""

    me: str
    lid: str | None = None


@dataclass(frozen=True, eq=False, repr=False)
class MediaSource(Record):
    """Media bytes produced on demand, in chunks: received media an engine can download, or
    stored media a worker hands an engine to send. `open()` starts a fresh stream each call."""

    mimetype: str
    open: Callable[[], AsyncIterator[bytes]]
    filename: str | None = None
    size: int | None = None


@dataclass(frozen=True, eq=False, repr=False)
class MessageIn(Record):
    """A message received from someone else; `download` fetches its media (stored by the worker,
    which then fills `message.media`)."""

    message: Message
    download: MediaSource | None = None


@dataclass(frozen=True, eq=False, repr=False)
class MessageOut(Record):
    """A message this line sent (through wamesh or from the phone)."""

    message: Message


@dataclass(frozen=True, eq=False, repr=False)
class AckChanged(Record):
    """A sent message's delivery state advanced."""

    message_id: str
    chat_id: str
    ack: Ack


@dataclass(frozen=True, eq=False, repr=False)
class ReactionChanged(Record):
    """Someone (or the line) reacted to a message; an empty `emoji` removed the reaction."""

    message_id: str
    chat_id: str
    sender: str
    emoji: str
    from_me: bool
    timestamp: datetime


@dataclass(frozen=True, eq=False, repr=False)
class MessageEdited(Record):
    """A message's text (or caption) was edited by its sender."""

    message_id: str
    chat_id: str
    sender: str
    text: str
    timestamp: datetime


@dataclass(frozen=True, eq=False, repr=False)
class MessageRevoked(Record):
    """A message was deleted for everyone by its sender."""

    message_id: str
    chat_id: str
    sender: str
    timestamp: datetime


@dataclass(frozen=True, eq=False, repr=False)
class PollVoted(Record):
    """Someone voted on a poll: `selected` is the voter's whole current selection by option name
    (empty: the vote was withdrawn); `poll_id` is the poll's message id."""

    poll_id: str
    chat_id: str
    voter: str
    selected: tuple[str, ...]
    timestamp: datetime


@dataclass(frozen=True, eq=False, repr=False)
class GroupParticipantsChanged(Record):
    """Members joined, left, were added, removed, promoted or demoted in a group."""

    group_jid: str
    action: str  # add, remove, leave, join, promote, demote
    participants: tuple[str, ...]
    author: str | None
    timestamp: datetime


@dataclass(frozen=True, eq=False, repr=False)
class PresenceChanged(Record):
    """A contact's presence in a chat: available, unavailable, typing, recording, paused."""

    chat_id: str
    jid: str
    presence: str
    timestamp: datetime


@dataclass(frozen=True, eq=False, repr=False)
class AuthChanged(Record):
    """The engine's auth state changed (keys ratcheted, pre-keys used, a device linked): the
    worker saves it within seconds instead of at its next scheduled save (minutes). Engines
    whose state lives in a store they write all the time (whatsmeow) report it; others need not."""


@dataclass(frozen=True, eq=False, repr=False)
class Disconnected(Record):
    """The connection to WhatsApp was lost; auth state is still valid."""

    reason: str


@dataclass(frozen=True, eq=False, repr=False)
class LoggedOut(Record):
    """The line was logged out (from the phone or by `logout`); auth state is void."""

    reason: str


@dataclass(frozen=True, eq=False, repr=False)
class Failed(Record):
    """The engine cannot go on; `code` is an errors.py code (e.g. engine_incompatible)."""

    reason: str
    code: str = "engine_error"
    details: dict[str, str] = field(default_factory=dict)


EngineEvent = (
    Qr
    | PairingCode
    | Authenticated
    | Ready
    | MessageIn
    | MessageOut
    | AckChanged
    | ReactionChanged
    | MessageEdited
    | MessageRevoked
    | PollVoted
    | GroupParticipantsChanged
    | PresenceChanged
    | AuthChanged
    | Disconnected
    | LoggedOut
    | Failed
)


def message_id_for(session_id: str, client_message_id: str) -> str:
    """The deterministic message id of a client message id, in WhatsApp Web's own format.

    WhatsApp Web's ids are "3EB0" and 18 uppercase hex digits (22 characters), e.g.
    `3EB039583F48990846CB3E` in wwebjs/whatsapp-web.js#3251; ours are derived from the client
    message id instead of drawn at random, which is what makes a resend find the first one.
    """
    digest = hashlib.sha256(f"{session_id}\0{client_message_id}".encode()).hexdigest()
    return "3EB0" + digest[:18].upper()


class Engine(ABC):
    """One line's connection to WhatsApp. `start`/`stop` are paired; `stop` is idempotent."""

    kind: str

    @abstractmethod
    async def start(self, auth_state: bytes | None) -> None:
        """Connect, restoring `auth_state` when given; events follow on `events()`."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect and release every resource; ends `events()`."""

    @abstractmethod
    def events(self) -> AsyncIterator[EngineEvent]:
        """The line's normalised events, until the engine stops."""

    @abstractmethod
    async def send_text(self, chat_id: str, text: str, message_id: str) -> Message:
        """Send `text` to `chat_id` as `message_id`; a repeated id returns the first message."""

    @abstractmethod
    async def logout(self) -> None:
        """Log the line out; a `LoggedOut` event follows."""

    @abstractmethod
    async def export_auth_state(self) -> bytes | None:
        """The current auth state to persist (None when not paired)."""


class PairsByCode(ABC):
    """Capability: link the line by a code typed on the phone instead of scanning a QR.

    An engine that offers it subclasses this too; the worker answers `not_supported` otherwise.
    The code is valid until `expires_at`; while the line stays unpaired the engine may issue a
    fresh one, reported as a `PairingCode` event.
    """

    @abstractmethod
    async def request_pairing_code(self, phone: str) -> PairingCode:
        """A pairing code for `phone` (digits with country code, no +)."""
