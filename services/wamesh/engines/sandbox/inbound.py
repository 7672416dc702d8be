"""What a contact sends a sandbox line from the simulated phone: a text or media message.

Inbound media is offered as `MessageIn.download`, streaming the given bytes in chunks, or a
`MediaSource` such as a stored media read chunk by chunk, so no size needs to fit in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from wamesh.engines.base import MediaSource, MessageType
from wamesh.errors import InvalidInput

MEDIA_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Inbound:
    """A message a contact sends the line: text, or media of `type` with a caption (its bytes in
    `media`, or a `source` to stream them from; `mimetype` and `filename` override the source's).
    In a group (`sender` a `...@g.us`) `author` is the member who wrote it."""

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


def inbound_type(inbound: Inbound) -> MessageType:
    """The message type of an inbound message, checked against its text and media."""
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
