"""One line's message commands: send, react, edit, revoke, forward, and its stored media.

A send with media, `reply_to` or mentions goes to engines that are `SendsRich` (others answer
`not_supported`; a plain text keeps using `send_text`). Media reaches the worker only as a
`media_id` of the line's MediaStore (the gateway stores URLs and base64 first); the engine reads it
as a `MediaSource`. React, edit, revoke, forward and the contact check go through `capability`.
Sends and forwards are idempotent by client message id (`sent_messages` plus the engine's own
record of message ids). Received media (`MessageIn.download`) of a type in
WAMESH_MEDIA_AUTO_DOWNLOAD is stored by `store_received` (the line calls it in its event pump, so
events keep their order); a failed download still delivers the message, with `media` null and
`media_error` saying why.

The `check_*` functions validate a message before it reaches a worker (the gateway calls them too).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from wamesh.constants import MAX_TEXT_LENGTH
from wamesh.engines.base import (
    ContactCard,
    Engine,
    Location,
    MediaSource,
    Message,
    MessageType,
    Poll,
    message_id_for,
)
from wamesh.engines.rich import (
    MEDIA_TYPES,
    ChecksNumbers,
    ContactInfo,
    Edits,
    Forwards,
    Outgoing,
    OutgoingMedia,
    Reacts,
    Revokes,
    SendsRich,
    capability,
    structured_type,
)
from wamesh.errors import (
    InvalidInput,
    MediaNotFound,
    MessageNotFound,
    NotSupported,
    WameshError,
    shorten,
)
from wamesh.jid import GROUP_SERVER, LID_SERVER, USER_SERVER, parse_recipient
from wamesh.media.store import MediaStore
from wamesh.record import Record
from wamesh.session.idempotency import check_same, fingerprint
from wamesh.session.store import LineStore
from wamesh.structured import (
    check_contacts,
    check_location,
    check_poll,
    contacts_from_proto,
    location_from_proto,
    poll_from_proto,
)
from wamesh.v1 import session_pb2

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False, repr=False)
class SendResult(Record):
    """What SendMessage answers."""

    message_id: str
    chat_id: str
    client_message_id: str
    duplicate: bool
    timestamp: datetime


@dataclass(frozen=True, eq=False, repr=False)
class LineMedia(Record):
    """The line's MediaStore and how much of received media it keeps."""

    store: MediaStore
    max_bytes: int
    auto_download: frozenset[str] = frozenset(t.value for t in MEDIA_TYPES)


@dataclass(frozen=True, eq=False, repr=False)
class SendRequest(Record):
    """One message to send: text, media (a stored `media_id` sent as `media_kind`) with `text`
    as its caption, or one structured content (location, contact cards, poll; no text);
    optionally replying to `reply_to` and mentioning `mentions`."""

    to: str
    text: str = ""
    client_message_id: str = ""
    media_kind: str = ""
    media_id: str = ""
    reply_to: str = ""
    mentions: tuple[str, ...] = ()
    location: Location | None = None
    contacts: tuple[ContactCard, ...] = ()
    poll: Poll | None = None

    @property
    def structured(self) -> MessageType | None:
        """The structured kind this request carries, if any."""
        return structured_type(self.location, self.contacts, self.poll)

    @property
    def rich(self) -> bool:
        """Needs an engine that is SendsRich (anything beyond a plain text)."""
        return bool(self.media_id or self.reply_to or self.mentions or self.structured)


class Messaging:
    """The message commands of one line, sent through the engine `ready_engine` answers with
    (it raises SessionNotReady unless the line is ready)."""

    def __init__(
        self,
        session_id: str,
        store: LineStore,
        media: LineMedia | None,
        ready_engine: Callable[[], Engine],
    ) -> None:
        self.session_id = session_id
        self.media = media
        self._store = store
        self._ready_engine = ready_engine

    async def send_message(self, req: SendRequest) -> SendResult:
        """Send once per client message id (text, or media with a caption, reply, mentions)."""
        chat_id = parse_recipient(req.to)
        req = check_message(req)
        mentions = tuple(parse_recipient(m, "mentions") for m in req.mentions)
        cmid = req.client_message_id or str(uuid.uuid4())
        content = await self._content_sha256(replace(req, to=chat_id, mentions=mentions))
        known = await self._store.find_sent(cmid)
        if known is not None:
            check_same(known, cmid, content)
            return SendResult(known.message_id, known.chat_id, cmid, True, known.sent_at)
        engine = self._ready_engine()
        message_id = message_id_for(self.session_id, cmid)
        if not req.rich:
            message = await engine.send_text(chat_id, req.text, message_id)
        else:
            sender = capability(engine, SendsRich, "media, replies and mentions")
            media = await self._outgoing_media(engine, sender, req)
            if req.structured and req.structured not in sender.structured_kinds:
                raise NotSupported(engine.kind, f"{req.structured.value} messages")
            out = Outgoing(
                chat_id,
                message_id,
                req.text,
                media,
                req.reply_to or None,
                mentions,
                req.location,
                req.contacts,
                req.poll,
            )
            message = await sender.send_message(out)
        stored = await self._store.remember_sent(cmid, message, content)
        check_same(stored, cmid, content)  # a concurrent send of the same id stored first
        return SendResult(stored.message_id, stored.chat_id, cmid, False, stored.sent_at)

    async def _content_sha256(self, req: SendRequest) -> str:
        """The fingerprint of what `req` sends; media by its bytes' SHA-256 (inline media is
        stored again on every call, under a new media id), or by id when it is gone."""
        media: object = req.media_id
        if req.media_id and self.media is not None:
            try:
                info = await self.media.store.info(self.session_id, req.media_id)
                media = (info.sha256, info.mimetype, info.filename)
            except MediaNotFound:
                pass  # the send itself answers media_not_found; a retry's fingerprint is by id
        return fingerprint(replace(req, client_message_id="", media_id=""), media)

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
        content = fingerprint("forward", chat, message_id, target)
        known = await self._store.find_sent(cmid)
        if known is not None:
            check_same(known, cmid, content)
            return SendResult(known.message_id, known.chat_id, cmid, True, known.sent_at)
        forwarder = capability(self._ready_engine(), Forwards, "forwarding messages")
        new_id = message_id_for(self.session_id, cmid)
        message = await forwarder.forward(chat, message_id, target, new_id)
        stored = await self._store.remember_sent(cmid, message, content)
        check_same(stored, cmid, content)
        return SendResult(stored.message_id, stored.chat_id, cmid, False, stored.sent_at)

    async def check_contact(self, contact: str) -> ContactInfo:
        """Whether a number, JID or LID is on WhatsApp, with its JID and LID."""
        jid = parse_contact(contact)
        engine = self._ready_engine()
        checker = capability(engine, ChecksNumbers, "checking numbers")
        return await checker.check_contact(jid)

    async def stored_media(self, media_id: str) -> MediaSource:
        """One of the line's stored media, to read in chunks (MediaNotFound when absent)."""
        store = self._media_store()
        return store.source(self.session_id, await store.info(self.session_id, media_id))

    def _media_store(self) -> MediaStore:
        if self.media is None:
            raise NotSupported("line's", "media (no media store configured)")
        return self.media.store

    async def store_received(
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


def request_of(proto: session_pb2.SendMessageRequest) -> SendRequest:
    """A SendMessage request as the line's (media as its stored id, empty when not stored)."""
    media = proto.media if proto.HasField("media") else None
    return SendRequest(
        to=proto.to,
        text=proto.text,
        client_message_id=proto.client_message_id,
        media_kind=media.kind if media else "",
        media_id=media.media_id if media else "",
        reply_to=proto.reply_to,
        mentions=tuple(proto.mentions),
        location=location_from_proto(proto.location) if proto.HasField("location") else None,
        contacts=contacts_from_proto(proto.contacts),
        poll=poll_from_proto(proto.poll) if proto.HasField("poll") else None,
    )


def parse_contact(value: str, field: str = "id") -> str:
    """A phone number, a user JID (`@s.whatsapp.net`, `@c.us`) or a `@lid`, as a JID."""
    jid = parse_recipient(value, field)
    server = jid.partition("@")[2]
    if server == GROUP_SERVER:
        raise InvalidInput(f"{field}: a group is not a contact", field)
    if server not in (USER_SERVER, LID_SERVER):
        raise InvalidInput(f"{field}: {shorten(value)} is not a contact", field)
    return jid


def check_text(text: str) -> None:
    """Non-empty and at most MAX_TEXT_LENGTH characters."""
    if not text.strip():
        raise InvalidInput("text must not be empty", "text")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            f"text is longer than {MAX_TEXT_LENGTH} characters", "text", "text_too_long"
        )


def check_message(req: SendRequest) -> SendRequest:
    """A text, media with an optional caption of at most MAX_TEXT_LENGTH characters, or one
    structured content without text; answers the request with its structured content checked
    (and normalised: trimmed poll options, None for empty location texts)."""
    contents = [req.media_id, req.location, req.contacts, req.poll]
    if sum(1 for content in contents if content) > 1:
        raise InvalidInput("send one of media, location, contacts or poll", "media")
    if req.structured:
        return _check_structured(req)
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
    return req


def _check_structured(req: SendRequest) -> SendRequest:
    if req.text:
        raise InvalidInput(f"text: a {req.structured} message has no text", "text")
    if req.reply_to:
        check_message_id(req.reply_to, "reply_to")
    return replace(
        req,
        location=check_location(req.location) if req.location else None,
        contacts=check_contacts(req.contacts) if req.contacts else (),
        poll=check_poll(req.poll) if req.poll else None,
    )


def check_message_id(message_id: str, field: str = "message_id") -> None:
    """A non-empty message id of printable ASCII (WhatsApp's ids are hex or base64-like)."""
    if not message_id or len(message_id) > 200 or not message_id.isascii():
        raise InvalidInput(f"{field} must be a message id", field)
    if not message_id.isprintable() or " " in message_id:
        raise InvalidInput(f"{field} must be a message id", field)
