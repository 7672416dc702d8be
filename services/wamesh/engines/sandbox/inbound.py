"""What a contact sends a sandbox line from the simulated phone: a text, media or structured
message (location, contact cards, poll; checked as a send is, by wamesh.structured).

Inbound media is offered as `MessageIn.download`, streaming the given bytes in chunks, or a
`MediaSource` such as a stored media read chunk by chunk, so no size needs to fit in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from wamesh.engines.base import ContactCard, Location, MediaSource, MessageType, Poll
from wamesh.errors import InvalidInput
from wamesh.record import Record
from wamesh.structured import check_contacts, check_location, check_poll

MEDIA_CHUNK = 64 * 1024


@dataclass(frozen=True, eq=False, repr=False)
class Inbound(Record):
    """A message a contact sends the line: text, or media of `type` with a caption (its bytes in
    `media`, or a `source` to stream them from; `mimetype` and `filename` override the source's).
    In a group (`sender` a `...@g.us`) `author` is the member who wrote it. A `location`,
    `contacts` or `poll` message carries that content and no text."""

    sender: str
    text: str = ""
    type: str = "text"
    media: bytes = b""
    source: MediaSource | None = None
    mimetype: str = ""
    filename: str = ""
    reply_to: str = ""
    mentions: tuple[str, ...] = field(default_factory=tuple)
    author: str = ""
    location: Location | None = None
    contacts: tuple[ContactCard, ...] = ()
    poll: Poll | None = None


def inbound_type(inbound: Inbound) -> MessageType:
    """The message type of an inbound message, checked against its text and media."""
    try:
        kind = MessageType(inbound.type or "text")
    except ValueError:
        raise InvalidInput(f"type: unknown message type {inbound.type!r}", "type") from None
    structured = _STRUCTURED.get(kind)
    if structured is not None:
        return _check_structured(inbound, kind, structured)
    if inbound.location or inbound.contacts or inbound.poll:
        raise InvalidInput(f"a {kind.value} message carries no location, contacts or poll", "type")
    has_media = bool(inbound.media) or inbound.source is not None
    if inbound.media and inbound.source is not None:
        raise InvalidInput("give media bytes or a stored media_id, not both", "media")
    if kind is MessageType.TEXT:
        if not inbound.text.strip():
            raise InvalidInput("text must not be blank", "text")
        if has_media:
            raise InvalidInput("media needs a media type (image, voice, ...)", "media")
    elif not has_media:
        raise InvalidInput(f"a {kind.value} message needs media bytes", "media")
    return kind


_STRUCTURED = {
    MessageType.LOCATION: "location",
    MessageType.CONTACT: "contacts",
    MessageType.POLL: "poll",
}


def _check_structured(inbound: Inbound, kind: MessageType, field_name: str) -> MessageType:
    if inbound.text or inbound.media or inbound.source is not None:
        raise InvalidInput(f"a {kind.value} message has no text or media", "text")
    given = [name for name in _STRUCTURED.values() if getattr(inbound, name)]
    if given != [field_name]:
        raise InvalidInput(f"a {kind.value} message needs {field_name} (only)", field_name)
    return kind


def checked_content(inbound: Inbound) -> Inbound:
    """The inbound message with its structured content checked and normalised."""
    return replace(
        inbound,
        location=check_location(inbound.location) if inbound.location else None,
        contacts=check_contacts(inbound.contacts) if inbound.contacts else (),
        poll=check_poll(inbound.poll) if inbound.poll else None,
    )


def inbound_download(inbound: Inbound) -> MediaSource:
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


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), MEDIA_CHUNK):
        yield data[start : start + MEDIA_CHUNK]
