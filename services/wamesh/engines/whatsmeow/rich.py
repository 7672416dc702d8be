"""Rich messages on whatsmeow: text, media, locations, contact cards and polls with replies and
mentions, reactions, edits, revokes, forwards, the number check, groups, read marks, presence and
presence subscriptions (mixed into WhatsmeowEngine).

Message protobufs are built here (waE2E, neonize's own classes) and sent with neonize's
`send_message`; media is uploaded with `upload` first (no ffmpeg: no thumbnails are made).
A poll is built as whatsmeow's BuildPollCreation builds it (a fresh 32-byte message secret) so a
poll may allow any number of choices from 0 (any) to all. The Message a send returns is read
back from the protobuf sent, by the same code that reads received ones (events.body_of).
Replies quote, and forwards copy, a message the engine saw in this run (`Recent`); a reply to
an older message still links it by id, a forward of one answers `message_not_found`. Polls are
remembered apart (polls.py), for their votes.

Message ids: neonize's SendMessage builds whatsmeow's SendRequestExtra without an ID (see
FACTS.md), so WhatsApp's id is whatsmeow's own, returned on the Message and mapped by the worker
(`sent_messages`). Within one run a repeated `message_id` returns the first message, and a repeat
arriving while the first send is in flight waits for it instead of sending twice.
"""

from __future__ import annotations

import asyncio
import os
import time
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neonize.builder import build_edit, build_revoke
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    AudioMessage,
    ContactMessage,
    ContactsArrayMessage,
    ContextInfo,
    DocumentMessage,
    ExtendedTextMessage,
    ImageMessage,
    LocationMessage,
    MessageContextInfo,
    PollCreationMessage,
    ReactionMessage,
    StickerMessage,
    VideoMessage,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WaMessage
from neonize.utils.enum import ChatPresence as WaChatPresence
from neonize.utils.enum import ChatPresenceMedia, MediaType, Presence, ReceiptType

from wamesh.engines.base import Ack, ContactCard, Location, MediaSource, Message, MessageType, Poll
from wamesh.engines.rich import (
    STRUCTURED_TYPES,
    ChatPresence,
    ChecksNumbers,
    ContactInfo,
    Edits,
    Forwards,
    GroupInfo,
    MarksPresence,
    Outgoing,
    OutgoingMedia,
    Participant,
    Reacts,
    ReadsGroups,
    Revokes,
    SendsRich,
    SubscribesPresence,
)
from wamesh.engines.whatsmeow.events import (
    Body,
    body_of,
    content_kind,
    message_of,
    moment,
    remember_poll,
    unwrap,
)
from wamesh.engines.whatsmeow.jids import from_jid, to_jid
from wamesh.engines.whatsmeow.polls import Polls
from wamesh.errors import InvalidInput, MessageNotFound, NotFound
from wamesh.jid import GROUP_SERVER, LID_SERVER

RECENT = 2000  # messages remembered for replies, reactions, forwards and read marks
SECRET_BYTES = 32  # a poll's message secret (whatsmeow msgsecret.go BuildPollCreation)
# Our media kinds as (waE2E field, message class, whatsmeow upload type).
MEDIA: dict[MessageType, tuple[str, type[Any], Any]] = {
    MessageType.IMAGE: ("imageMessage", ImageMessage, MediaType.MediaImage),
    MessageType.VIDEO: ("videoMessage", VideoMessage, MediaType.MediaVideo),
    MessageType.AUDIO: ("audioMessage", AudioMessage, MediaType.MediaAudio),
    MessageType.VOICE: ("audioMessage", AudioMessage, MediaType.MediaAudio),
    MessageType.DOCUMENT: ("documentMessage", DocumentMessage, MediaType.MediaDocument),
    MessageType.STICKER: ("stickerMessage", StickerMessage, MediaType.MediaImage),
}
_COMPOSING, _PAUSED = WaChatPresence.CHAT_PRESENCE_COMPOSING, WaChatPresence.CHAT_PRESENCE_PAUSED
_TEXT, _AUDIO = (
    ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT,
    ChatPresenceMedia.CHAT_PRESENCE_MEDIA_AUDIO,
)
CHAT_STATES = {
    ChatPresence.TYPING: (_COMPOSING, _TEXT),
    ChatPresence.RECORDING: (_COMPOSING, _AUDIO),
    ChatPresence.PAUSED: (_PAUSED, _TEXT),
}


@dataclass(frozen=True)
class Seen:
    """A message the engine saw: who sent it and its content (for quotes and forwards)."""

    chat_id: str
    sender: str
    from_me: bool
    content: Any


class Recent:
    """The last RECENT messages by id, and per chat the received ones not yet marked read."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, Seen] = OrderedDict()
        self._unread: dict[str, dict[str, str]] = {}

    def add(self, message_id: str, seen: Seen) -> None:
        """Remember a message (sent or received)."""
        self._seen[message_id] = seen
        self._seen.move_to_end(message_id)
        while len(self._seen) > RECENT:
            self._seen.popitem(last=False)
        if not seen.from_me:
            self._unread.setdefault(seen.chat_id, {})[message_id] = seen.sender

    def get(self, message_id: str) -> Seen | None:
        """A remembered message, or None."""
        return self._seen.get(message_id)

    def take_unread(self, chat_id: str) -> dict[str, str]:
        """The received messages of a chat not marked read yet (id -> sender); forgets them."""
        return self._unread.pop(chat_id, {})


def media_content(kind: MessageType, upload: Any, out: Outgoing, context: Any) -> Any:
    """The waE2E.Message of an uploaded media (caption and context included)."""
    assert out.media is not None
    field, cls, _ = MEDIA[kind]
    body = cls(
        URL=upload.url,
        directPath=upload.DirectPath,
        mediaKey=upload.MediaKey,
        fileEncSHA256=upload.FileEncSHA256,
        fileSHA256=upload.FileSHA256,
        fileLength=upload.FileLength,
        mimetype=out.media.info.mimetype,
        contextInfo=context,
    )
    if "caption" in cls.DESCRIPTOR.fields_by_name and out.text:
        body.caption = out.text
    if kind == MessageType.VOICE:
        body.PTT = True
    if kind == MessageType.DOCUMENT:
        body.fileName = out.media.info.filename or "document"
    return WaMessage(**{field: body})


def structured_content(out: Outgoing, context: Any) -> Any:
    """The waE2E.Message of a location, contact cards or a poll (with the reply / mention
    context, when there is one)."""
    if out.location is not None:
        body, field = location_body(out.location), "locationMessage"
    elif out.contacts:
        body, field = contacts_body(out.contacts)
    else:
        assert out.poll is not None
        body, field = poll_body(out.poll), "pollCreationMessage"
    if context.stanzaID or context.mentionedJID or context.isForwarded:
        body.contextInfo.CopyFrom(context)
    content = WaMessage(**{field: body})
    if field == "pollCreationMessage":
        # the key its votes are encrypted with (msgsecret.go BuildPollCreation)
        content.messageContextInfo.CopyFrom(MessageContextInfo(messageSecret=new_secret()))
    return content


def location_body(location: Location) -> Any:
    """A LocationMessage: degrees, and the name, address and URL shown under the map."""
    body = LocationMessage(degreesLatitude=location.latitude, degreesLongitude=location.longitude)
    for field, value in (
        ("name", location.name),
        ("address", location.address),
        ("URL", location.url),
    ):
        if value:
            setattr(body, field, value)
    return body


def contacts_body(cards: tuple[ContactCard, ...]) -> tuple[Any, str]:
    """One card as a ContactMessage, several as a ContactsArrayMessage (named "<n> contacts")."""
    messages = [ContactMessage(displayName=c.name, vcard=c.vcard) for c in cards]
    if len(messages) == 1:
        return messages[0], "contactMessage"
    array = ContactsArrayMessage(displayName=f"{len(cards)} contacts", contacts=messages)
    return array, "contactsArrayMessage"


def poll_body(poll: Poll) -> Any:
    """A PollCreationMessage as whatsmeow's BuildPollCreation writes it: question, options and
    how many a voter may choose (0: any). Sent as `pollCreationMessage` (V1), the field whatsmeow
    marks `polltype=creation` on the wire (send.go getTypeFromMessage)."""
    return PollCreationMessage(
        name=poll.question,
        options=[PollCreationMessage.Option(optionName=o) for o in poll.options],
        selectableOptionsCount=poll.selectable_count,
    )


def new_secret() -> bytes:
    """A fresh message secret (whatsmeow: random.Bytes(32))."""
    return os.urandom(SECRET_BYTES)


async def read_all(source: MediaSource) -> bytes:
    """A media source's bytes (whatsmeow uploads from one buffer)."""
    chunks = [chunk async for chunk in source.open()]
    return b"".join(chunks)


class WhatsmeowRich(
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
    """The rich-message capabilities of the whatsmeow engine."""

    structured_kinds = STRUCTURED_TYPES
    _recent: Recent
    _polls: Polls
    _sent: dict[str, Message]
    _sending: dict[str, asyncio.Future[Message]]

    @abstractmethod
    def _using(self) -> AbstractAsyncContextManager[Any]:
        """The live neonize client for one call (EngineError when there is none)."""

    @abstractmethod
    def _own_jid(self) -> str:
        """The line's own JID."""

    async def send_message(self, out: Outgoing) -> Message:
        """Text, media, a location, contact cards or a poll, with a quoted reply and mentions;
        once per `out.message_id`."""
        return await self._once(out.message_id, lambda: self._send(out))

    async def forward(
        self, chat_id: str, message_id: str, to_chat: str, new_message_id: str
    ) -> Message:
        """Send a copy of a message seen in this run, marked forwarded."""
        seen = self._recent.get(message_id)
        if seen is None or seen.chat_id != chat_id:
            raise MessageNotFound(f"no message {message_id} in chat {chat_id} since the start")
        return await self._once(new_message_id, lambda: self._forward(seen, to_chat))

    async def react(self, chat_id: str, message_id: str, emoji: str) -> None:
        """A reaction message keyed to `message_id`; an empty emoji removes the reaction."""
        key = self._key(chat_id, message_id)
        millis = int(time.time() * 1000)
        reaction = ReactionMessage(key=key, text=emoji, senderTimestampMS=millis)
        await self._deliver(chat_id, WaMessage(reactionMessage=reaction))

    async def edit(self, chat_id: str, message_id: str, text: str) -> None:
        """A MESSAGE_EDIT protocol message (neonize.builder.build_edit)."""
        content = build_edit(to_jid(chat_id), message_id, WaMessage(conversation=text))
        await self._deliver(chat_id, content)

    async def revoke(self, chat_id: str, message_id: str) -> None:
        """A REVOKE protocol message for the line's own message (neonize.builder.build_revoke)."""
        me = to_jid(self._own_jid())
        await self._deliver(chat_id, build_revoke(to_jid(chat_id), me, message_id, me))

    async def check_contact(self, jid: str) -> ContactInfo:
        """IsOnWhatsApp for a number; the LID <-> phone mapping of whatsmeow's store."""
        async with self._using() as client:
            if jid.endswith("@" + LID_SERVER):
                phone = from_jid(await client.get_pn_from_lid(to_jid(jid)))
                return ContactInfo(bool(phone), phone or None, jid)
            answers = await client.is_on_whatsapp("+" + jid.partition("@")[0])
            found = next((a for a in answers if a.IsIn), None)
            if found is None:
                return ContactInfo(False)
            phone = from_jid(found.JID)
            lid = from_jid(await client.get_lid_from_pn(found.JID))
            return ContactInfo(True, phone, lid or None)

    async def list_groups(self) -> list[GroupInfo]:
        """GetJoinedGroups (participants included: whatsmeow has them at hand)."""
        async with self._using() as client:
            groups = await client.get_joined_groups()
        return [group_from(g) for g in groups]

    async def group_info(self, group_jid: str) -> GroupInfo:
        """GetGroupInfo; NotFound when WhatsApp does not know the line in it."""
        async with self._using() as client:
            try:
                group = await client.get_group_info(to_jid(group_jid))
            except Exception as exc:  # neonize raises GetGroupInfoError with Go's text
                raise NotFound(f"the line is not in a group {group_jid} ({exc})") from None
        return group_from(group)

    async def mark_read(self, chat_id: str) -> None:
        """Read receipts for the chat's messages received in this run and not marked yet."""
        unread = self._recent.take_unread(chat_id)
        by_sender: dict[str, list[str]] = {}
        for message_id, sender in unread.items():
            by_sender.setdefault(sender, []).append(message_id)
        async with self._using() as client:
            for sender, ids in by_sender.items():
                await client.mark_read(
                    *ids, chat=to_jid(chat_id), sender=to_jid(sender), receipt=ReceiptType.READ
                )

    async def set_presence(self, chat_id: str | None, presence: ChatPresence) -> None:
        """A chat state in `chat_id`, or available / unavailable everywhere."""
        async with self._using() as client:
            if presence in (ChatPresence.ONLINE, ChatPresence.OFFLINE):
                online = presence == ChatPresence.ONLINE
                await client.send_presence(Presence.AVAILABLE if online else Presence.UNAVAILABLE)
                return
            if chat_id is None:
                raise InvalidInput(f"{presence.value} needs a chat", "chat_id")
            state, media = CHAT_STATES[presence]
            await client.send_chat_presence(to_jid(chat_id), state, media)

    async def subscribe_presence(self, jid: str) -> None:
        """whatsmeow's SubscribePresence: `jid`'s Presence events (online / offline) follow as
        PresenceChanged. WhatsApp sends them only while the line shows itself online
        (`set_presence(None, ONLINE)`; whatsmeow presence.go)."""
        async with self._using() as client:
            await client.subscribe_presence(to_jid(jid))

    def remember(self, message: Message, content: Any) -> None:
        """Note a message seen (the engine calls it for every message event)."""
        seen = Seen(message.chat_id, message.sender, message.from_me, content)
        self._recent.add(message.id, seen)
        remember_poll(self._polls, message, content)

    async def _once(self, message_id: str, send: Callable[[], Awaitable[Message]]) -> Message:
        known = self._sent.get(message_id)
        if known is not None:
            return known
        pending = self._sending.get(message_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._sending[message_id] = future
        try:
            message = await send()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a lone sender must not log it as unhandled
            raise
        finally:
            self._sending.pop(message_id, None)
        self._sent[message_id] = message
        future.set_result(message)
        return message

    async def _send(self, out: Outgoing) -> Message:
        context = self._context(out.reply_to, out.mentions)
        if out.media is not None:
            content = await self._upload(out.media, out, context)
        elif out.type in STRUCTURED_TYPES:
            content = structured_content(out, context)
        else:
            content = text_content(out.text, context)
        return await self._deliver(out.chat_id, content)

    async def _forward(self, seen: Seen, to_chat: str) -> Message:
        content = unwrap(seen.content)
        body, kind = body_of(content), content_kind(content)
        if body is None or kind is None:
            raise InvalidInput("this kind of message cannot be forwarded", "message_id")
        forwarded = ContextInfo(isForwarded=True)
        if body.type in STRUCTURED_TYPES:  # built anew: a poll gets a secret of its own
            out = Outgoing(
                to_chat, "", location=body.location, contacts=body.contacts, poll=body.poll
            )
            return await self._deliver(to_chat, structured_content(out, forwarded))
        if kind[0] == "conversation":
            text = ExtendedTextMessage(text=content.conversation, contextInfo=forwarded)
            return await self._deliver(to_chat, WaMessage(extendedTextMessage=text))
        copy = WaMessage()
        copy.CopyFrom(content)
        getattr(copy, kind[0]).contextInfo.isForwarded = True
        return await self._deliver(to_chat, copy)

    async def _upload(self, media: OutgoingMedia, out: Outgoing, context: Any) -> Any:
        data = await read_all(media.source)
        async with self._using() as client:
            upload = await client.upload(data, MEDIA[media.kind][2])
        return media_content(media.kind, upload, out, context)

    async def _deliver(self, chat_id: str, content: Any) -> Message:
        """Send a waE2E.Message; the Message is read back from it (events.body_of)."""
        async with self._using() as client:
            response = await client.send_message(to_jid(chat_id), content)
        message = message_of(
            body_of(content) or Body(),
            id=str(response.ID),
            chat_id=chat_id,
            sender=self._own_jid(),
            recipient=chat_id,
            from_me=True,
            timestamp=moment(response.Timestamp) if response.Timestamp else datetime.now(UTC),
            ack=Ack.SERVER,
        )
        self.remember(message, content)
        return message

    def _context(self, reply_to: str | None, mentions: tuple[str, ...]) -> Any:
        context = ContextInfo(mentionedJID=list(mentions))
        if reply_to:
            context.stanzaID = reply_to
            seen = self._recent.get(reply_to)
            if seen is not None:
                context.participant = seen.sender
                context.quotedMessage.CopyFrom(seen.content)
        return context

    def _key(self, chat_id: str, message_id: str) -> Any:
        seen = self._recent.get(message_id)
        from_me = seen.from_me if seen else False
        key = MessageKey(remoteJID=chat_id, fromMe=from_me, ID=message_id)
        if seen is not None and not from_me and chat_id.endswith("@" + GROUP_SERVER):
            key.participant = seen.sender
        return key


def text_content(text: str, context: Any) -> Any:
    """A plain `conversation`, or an extendedTextMessage when it replies or mentions."""
    if not context.stanzaID and not context.mentionedJID:
        return WaMessage(conversation=text)
    return WaMessage(extendedTextMessage=ExtendedTextMessage(text=text, contextInfo=context))


def group_from(group: Any) -> GroupInfo:
    """A neonize GroupInfo as ours (members by phone-number JID when known, else LID)."""
    members = tuple(
        Participant(
            from_jid(p.PhoneNumber) or from_jid(p.JID) or from_jid(p.LID),
            bool(p.IsAdmin),
            bool(p.IsSuperAdmin),
        )
        for p in group.Participants
    )
    return GroupInfo(
        from_jid(group.JID), str(group.GroupName.Name), str(group.GroupTopic.Topic), members
    )


async def single(data: bytes) -> AsyncIterator[bytes]:
    """One chunk, as a MediaSource stream."""
    yield data
