"""The MediaStore seam: media of a line, stored in chunks, never whole in a process's memory.

    put(session_id, chunks, ...)    -> MediaInfo   (MediaTooLarge past max_bytes: nothing kept)
    info(session_id, media_id)      -> MediaInfo   (MediaNotFound when absent or expired)
    open(session_id, media_id, start, end) -> async iterator of bytes [start, end)
    purge_expired()                 -> how many media were deleted

Every media expires `retention` after it was stored. A line sees only its own media.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from wamesh.engines.base import MediaInfo, MediaSource


class MediaStore(ABC):
    """Where a line's media live."""

    @abstractmethod
    async def put(
        self,
        session_id: str,
        chunks: AsyncIterator[bytes],
        *,
        mimetype: str,
        filename: str | None = None,
        max_bytes: int,
    ) -> MediaInfo:
        """Store the stream (hashing it on the way); MediaTooLarge past `max_bytes`."""

    @abstractmethod
    async def info(self, session_id: str, media_id: str) -> MediaInfo:
        """What is stored under `media_id`; MediaNotFound when absent or expired."""

    @abstractmethod
    def open(
        self, session_id: str, media_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The bytes [start, end) of `media_id`, in chunks."""

    @abstractmethod
    async def purge_expired(self) -> int:
        """Delete expired media; return how many."""

    def source(self, session_id: str, info: MediaInfo) -> MediaSource:
        """`info`'s bytes as a MediaSource an engine can read (each open() a fresh stream)."""
        return MediaSource(
            mimetype=info.mimetype,
            open=lambda: self.open(session_id, info.media_id),
            filename=info.filename,
            size=info.size,
        )
