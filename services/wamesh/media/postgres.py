"""The MediaStore in PostgreSQL: a `media` row per file and its bytes in `media_chunks`.

Every chunk but the last holds exactly `chunk_size` bytes (recorded on the row), so the chunk of
any byte offset is known without reading the others and a Range read fetches only what it needs.

`put` inserts the row as pending, writes each chunk as it arrives (one short statement each, so
a slow upload holds no connection between chunks), and marks the row complete with its size,
SHA-256 and expiry; on any failure (MediaTooLarge, a client gone, bad input) the row and its
chunks are deleted. A pending row is invisible and expires after PENDING_GRACE, so even a crashed
process leaves nothing `purge_expired` will not remove. `open` reads one chunk per statement.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from wamesh.db.pool import Pool
from wamesh.engines.base import MediaInfo
from wamesh.errors import MediaNotFound, MediaTooLarge
from wamesh.ids import as_uuid
from wamesh.media.store import MediaStore

CHUNK_SIZE = 256 * 1024
PENDING_GRACE = timedelta(hours=6)

_INSERT = """
INSERT INTO wamesh.media (session_id, mimetype, filename, chunk_size, expires_at)
VALUES (%s, %s, %s, %s, now() + %s) RETURNING id::text
"""
_CHUNK = "INSERT INTO wamesh.media_chunks (media_id, seq, data) VALUES (%s, %s, %s)"
_COMPLETE = """
UPDATE wamesh.media SET complete = true, size = %s, sha256 = %s, expires_at = now() + %s
WHERE id = %s
"""
_INFO = """
SELECT id::text AS media_id, mimetype, size, sha256, filename, chunk_size FROM wamesh.media
WHERE id = %s AND session_id = %s AND complete AND expires_at > now()
"""
_READ = "SELECT data FROM wamesh.media_chunks WHERE media_id = %s AND seq = %s"


class PostgresMediaStore(MediaStore):
    """Media in the `media` and `media_chunks` tables, kept for `retention`."""

    def __init__(self, pool: Pool, retention: timedelta, chunk_size: int = CHUNK_SIZE) -> None:
        self._pool = pool
        self._retention = retention
        self._chunk_size = chunk_size

    async def put(
        self,
        session_id: str,
        chunks: AsyncIterator[bytes],
        *,
        mimetype: str,
        filename: str | None = None,
        max_bytes: int,
    ) -> MediaInfo:
        """Store the stream chunk by chunk; nothing is kept when it fails."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                _INSERT, (session_id, mimetype, filename, self._chunk_size, PENDING_GRACE)
            )
            row = await cursor.fetchone()
        assert row is not None
        media_id = str(row["id"])
        try:
            size, sha256 = await self._write(media_id, chunks, max_bytes)
            async with self._pool.connection() as conn:
                await conn.execute(_COMPLETE, (size, sha256, self._retention, media_id))
        except BaseException:
            async with self._pool.connection() as conn:
                await conn.execute("DELETE FROM wamesh.media WHERE id = %s", (media_id,))
            raise
        return MediaInfo(media_id, mimetype, size, sha256, filename)

    async def _write(
        self, media_id: str, chunks: AsyncIterator[bytes], max_bytes: int
    ) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = seq = 0
        buffer = bytearray()
        async for piece in chunks:
            size += len(piece)
            if size > max_bytes:
                raise MediaTooLarge(max_bytes)
            digest.update(piece)
            buffer += piece
            while len(buffer) >= self._chunk_size:
                await self._insert_chunk(media_id, seq, bytes(buffer[: self._chunk_size]))
                del buffer[: self._chunk_size]
                seq += 1
        if buffer or seq == 0:
            await self._insert_chunk(media_id, seq, bytes(buffer))
        return size, digest.hexdigest()

    async def _insert_chunk(self, media_id: str, seq: int, data: bytes) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(_CHUNK, (media_id, seq, data))

    async def info(self, session_id: str, media_id: str) -> MediaInfo:
        """The stored media, if it is this line's and has not expired."""
        row = await self._row(session_id, media_id)
        return MediaInfo(
            row["media_id"], row["mimetype"], row["size"], row["sha256"], row["filename"]
        )

    async def _row(self, session_id: str, media_id: str) -> dict[str, Any]:
        key, line = as_uuid(media_id), as_uuid(session_id)
        row = None
        if key is not None and line is not None:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(_INFO, (key, line))
                row = await cursor.fetchone()
        if row is None:
            raise MediaNotFound(f"no media {media_id} on session {session_id} (or it expired)")
        return dict(row)

    async def open(
        self, session_id: str, media_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Bytes [start, end) (clamped to the size), one stored chunk per query."""
        row = await self._row(session_id, media_id)
        size, chunk_size = int(row["size"]), int(row["chunk_size"])
        stop = size if end is None else min(end, size)
        offset = max(start, 0)
        while offset < stop:
            seq, skip = divmod(offset, chunk_size)
            data = await self._read_chunk(row["media_id"], seq)
            piece = data[skip : skip + stop - offset]
            if not piece:
                raise MediaNotFound(f"media {media_id} is incomplete (purged while read?)")
            offset += len(piece)
            yield piece

    async def _read_chunk(self, media_id: str, seq: int) -> bytes:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_READ, (media_id, seq))
            row = await cursor.fetchone()
        return b"" if row is None else bytes(row["data"])

    async def purge_expired(self) -> int:
        """Delete expired media (and uploads that never completed); their chunks go with them."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute("DELETE FROM wamesh.media WHERE expires_at <= now()")
            return cursor.rowcount
