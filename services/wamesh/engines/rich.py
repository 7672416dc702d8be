"""Rich-message capabilities: small interfaces an engine declares by subclassing them.

A worker asks `capability(engine, Reacts, "reactions")`; an engine without it is answered once,
generically, with `NotSupported` (HTTP 501 / gRPC UNIMPLEMENTED, code `not_supported`, naming the
engine). Engines never touch the MediaStore: the worker hands them stored media as a
`MediaSource` to send, and stores what they report with `MessageIn.download`.

Message ids: `Outgoing.message_id` and a forward's `message_id` come from `message_id_for`, so a
repeated client message id finds the first message instead of sending twice (as for text).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar, cast

from wamesh.engines.base import (
    ContactCard,
    Engine,
    Location,
    MediaInfo,
    MediaSource,
    Message,
    MessageType,
    Poll,
)
from wamesh.errors import NotSupported
from wamesh.record import Record

MEDIA_TYPES = frozenset(
    {
        MessageType.IMAGE,
        MessageType.VIDEO,
        MessageType.AUDIO,
        MessageType.VOICE,
        MessageType.DOCUMENT,
        MessageType.STICKER,
    }
)
STRUCTURED_TYPES = frozenset({MessageType.LOCATION, MessageType.CONTACT, MessageType.POLL})


@dataclass(frozen=True, eq=False, repr=False)
class OutgoingMedia(Record):
    """Stored media to send as `kind` (voice = a push-to-talk note, sticker = webp)."""

    kind: MessageType
    info: MediaInfo
    source: MediaSource


@dataclass(frozen=True, eq=False, repr=False)
class Outgoing(Record):
    """One message to send: text, media with `text` as its caption, or one structured content
    (a location, contact cards or a poll; `text` empty); optionally a reply to `reply_to` (a
    message id in the same chat) mentioning `mentions` (JIDs)."""

    chat_id: str
    message_id: str
    text: str = ""
    media: OutgoingMedia | None = None
    reply_to: str | None = None
    mentions: tuple[str, ...] = ()
    location: Location | None = None
    contacts: tuple[ContactCard, ...] = ()
    poll: Poll | None = None

    @property
    def type(self) -> MessageType:
        """What the message carries."""
        if self.media is not None:
            return self.media.kind
        return structured_type(self.location, self.contacts, self.poll) or MessageType.TEXT


def structured_type(
    location: Location | None, contacts: tuple[ContactCard, ...], poll: Poll | None
) -> MessageType | None:
    """The structured kind a message carries (the first given), or None."""
    if location is not None:
        return MessageType.LOCATION
    if contacts:
        return MessageType.CONTACT
    if poll is not None:
        return MessageType.POLL
    return None


class SendsRich(ABC):
    """Capability: messages with replies and mentions, media of `media_kinds` and the structured
    kinds of `structured_kinds` (none unless an engine declares them)."""

    media_kinds: frozenset[MessageType] = MEDIA_TYPES
    structured_kinds: frozenset[MessageType] = frozenset()

    @abstractmethod
    async def send_message(self, out: Outgoing) -> Message:
        """Send `out`; a repeated `out.message_id` returns the first message."""


class Reacts(ABC):
    """Capability: react to a message."""

    @abstractmethod
    async def react(self, chat_id: str, message_id: str, emoji: str) -> None:
        """Set the line's reaction to `message_id`; an empty `emoji` removes it."""


class Edits(ABC):
    """Capability: edit the text (or caption) of a message the line sent."""

    @abstractmethod
    async def edit(self, chat_id: str, message_id: str, text: str) -> None:
        """Replace the text of the line's own `message_id`."""


class Revokes(ABC):
    """Capability: delete a message for everyone."""

    @abstractmethod
    async def revoke(self, chat_id: str, message_id: str) -> None:
        """Delete the line's own `message_id` for everyone in the chat."""


class Forwards(ABC):
    """Capability: forward a message to another chat."""

    @abstractmethod
    async def forward(
        self, chat_id: str, message_id: str, to_chat: str, new_message_id: str
    ) -> Message:
        """Forward `message_id` of `chat_id` to `to_chat` as `new_message_id`."""


C = TypeVar("C")


def capability(engine: Engine, wanted: Callable[..., C], name: str) -> C:
    """`engine` as `wanted`, or NotSupported naming the engine and `name`.

    `wanted` is typed as a callable because mypy refuses abstract classes as `type[C]`."""
    if not isinstance(engine, cast("type[Any]", wanted)):
        raise NotSupported(engine.kind, name)
    return cast(C, engine)


@dataclass(frozen=True, eq=False, repr=False)
class ContactInfo(Record):
    """What WhatsApp knows of a number or id: whether it is on WhatsApp, its phone-number JID
    (`...@s.whatsapp.net`) and its LID (`...@lid`), each None when unknown."""

    exists: bool
    jid: str | None = None
    lid: str | None = None


class ChecksNumbers(ABC):
    """Capability: look a number, JID or LID up on WhatsApp (the LID <-> phone mapping)."""

    @abstractmethod
    async def check_contact(self, jid: str) -> ContactInfo:
        """`jid` is `<digits>@s.whatsapp.net` or `<id>@lid`; an unknown one answers exists=False."""


@dataclass(frozen=True, eq=False, repr=False)
class Participant(Record):
    """A group member: its JID (phone number or LID) and admin flags."""

    jid: str
    is_admin: bool = False
    is_super_admin: bool = False


@dataclass(frozen=True, eq=False, repr=False)
class GroupInfo(Record):
    """A group the line is in."""

    jid: str
    subject: str
    description: str = ""
    participants: tuple[Participant, ...] = ()


class ReadsGroups(ABC):
    """Capability: the line's groups and their members."""

    @abstractmethod
    async def list_groups(self) -> list[GroupInfo]:
        """Every group the line is in (participants may be left empty here)."""

    @abstractmethod
    async def group_info(self, group_jid: str) -> GroupInfo:
        """One group with its participants; MessageNotFound-style NotFound when unknown."""


class ChatPresence(StrEnum):
    """What the line shows in a chat (WhatsApp's chat states) or globally (online/offline)."""

    TYPING = "typing"
    RECORDING = "recording"
    PAUSED = "paused"
    ONLINE = "online"
    OFFLINE = "offline"


class SubscribesPresence(ABC):
    """Capability: receive a contact's presence as `PresenceChanged` events."""

    @abstractmethod
    async def subscribe_presence(self, jid: str) -> None:
        """Ask WhatsApp for `jid`'s presence updates (online, last seen, typing in 1:1)."""


class MarksPresence(ABC):
    """Capability: mark chats read and show typing / recording / paused / online."""

    @abstractmethod
    async def mark_read(self, chat_id: str) -> None:
        """Mark every message of `chat_id` read (blue ticks to the sender when enabled)."""

    @abstractmethod
    async def set_presence(self, chat_id: str | None, presence: ChatPresence) -> None:
        """Show `presence` in `chat_id` (typing, recording, paused) or everywhere (online,
        offline: `chat_id` None)."""
