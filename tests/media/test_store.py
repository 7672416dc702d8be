"""The PostgreSQL media store: chunked round trips, ranges, per-line visibility, expiry, the cap."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from tests.media.conftest import pattern, stream
from wamesh.db.pool import Pool
from wamesh.errors import InvalidInput, MediaNotFound, MediaTooLarge
from wamesh.media.ingest import ingest_base64
from wamesh.media.postgres import PostgresMediaStore


async def _read(store: PostgresMediaStore, line: str, media_id: str, *span: int) -> bytes:
    return b"".join([piece async for piece in store.open(line, media_id, *span)])


async def _count(pool: Pool, table: str) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute(f"SELECT count(*) AS n FROM wamesh.{table}")
        row = await cursor.fetchone()
    assert row is not None
    return int(row["n"])


class TestRoundTrip:
    """What goes in comes out, byte for byte, with its size and SHA-256."""

    async def test_put_info_open(self, store: PostgresMediaStore, line: str) -> None:
        data = pattern(4321)
        info = await store.put(
            line, stream(data), mimetype="image/png", filename="a.png", max_bytes=10_000
        )
        assert (info.size, info.sha256) == (4321, hashlib.sha256(data).hexdigest())
        assert await store.info(line, info.media_id) == info
        assert await _read(store, line, info.media_id) == data

    async def test_chunks_have_the_store_size(
        self, store: PostgresMediaStore, line: str, pool: Pool
    ) -> None:
        info = await store.put(line, stream(pattern(4321)), mimetype="x/y", max_bytes=10_000)
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT length(data) AS n FROM wamesh.media_chunks WHERE media_id = %s ORDER BY seq",
                (info.media_id,),
            )
            sizes = [row["n"] for row in await cursor.fetchall()]
        assert sizes == [1000, 1000, 1000, 1000, 321]

    async def test_empty_media(self, store: PostgresMediaStore, line: str) -> None:
        info = await store.put(line, stream(b""), mimetype="text/plain", max_bytes=10)
        assert info.size == 0
        assert await _read(store, line, info.media_id) == b""

    @pytest.mark.parametrize(("start", "end"), [(0, 1), (999, 1001), (1500, 3999), (4000, 4321)])
    async def test_ranges_read_only_their_bytes(
        self, store: PostgresMediaStore, line: str, start: int, end: int
    ) -> None:
        data = pattern(4321)
        info = await store.put(line, stream(data), mimetype="x/y", max_bytes=10_000)
        assert await _read(store, line, info.media_id, start, end) == data[start:end]

    async def test_source_opens_a_fresh_stream_each_time(
        self, store: PostgresMediaStore, line: str
    ) -> None:
        data = pattern(2500)
        info = await store.put(line, stream(data), mimetype="x/y", max_bytes=10_000)
        source = store.source(line, info)
        for _ in range(2):
            assert b"".join([p async for p in source.open()]) == data


class TestVisibility:
    """A line sees its own unexpired media only."""

    async def test_another_lines_media_is_not_found(
        self, store: PostgresMediaStore, line: str, make_line: Callable[..., str]
    ) -> None:
        info = await store.put(line, stream(b"secret"), mimetype="x/y", max_bytes=100)
        other = make_line(name="other line")
        with pytest.raises(MediaNotFound):
            await store.info(other, info.media_id)
        with pytest.raises(MediaNotFound):
            await _read(store, other, info.media_id)

    @pytest.mark.parametrize("media_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
    async def test_unknown_ids_are_not_found(
        self, store: PostgresMediaStore, line: str, media_id: str
    ) -> None:
        with pytest.raises(MediaNotFound):
            await store.info(line, media_id)

    async def test_expired_media_is_gone_and_purged(
        self, store: PostgresMediaStore, line: str, pool: Pool
    ) -> None:
        kept = await store.put(line, stream(b"kept"), mimetype="x/y", max_bytes=100)
        old = await store.put(line, stream(pattern(2500)), mimetype="x/y", max_bytes=10_000)
        async with pool.connection() as conn:
            await conn.execute(
                "UPDATE wamesh.media SET expires_at = now() - interval '1 second' WHERE id = %s",
                (old.media_id,),
            )
        with pytest.raises(MediaNotFound):
            await store.info(line, old.media_id)
        assert await store.purge_expired() == 1
        assert await _count(pool, "media") == 1
        assert await _count(pool, "media_chunks") == 1
        assert await store.info(line, kept.media_id) == kept

    async def test_zero_retention_expires_at_once(self, pool: Pool, line: str) -> None:
        store = PostgresMediaStore(pool, timedelta(0))
        info = await store.put(line, stream(b"x"), mimetype="x/y", max_bytes=100)
        with pytest.raises(MediaNotFound):
            await store.info(line, info.media_id)
        assert await store.purge_expired() == 1

    async def test_deleting_the_line_deletes_its_media(
        self, store: PostgresMediaStore, line: str, pool: Pool
    ) -> None:
        await store.put(line, stream(pattern(2500)), mimetype="x/y", max_bytes=10_000)
        async with pool.connection() as conn:
            await conn.execute("DELETE FROM wamesh.sessions WHERE id = %s", (line,))
        assert (await _count(pool, "media"), await _count(pool, "media_chunks")) == (0, 0)


class TestFailures:
    """A put that fails leaves no row and no chunk behind."""

    async def test_too_large_leaves_nothing(
        self, store: PostgresMediaStore, line: str, pool: Pool
    ) -> None:
        with pytest.raises(MediaTooLarge) as caught:
            await store.put(line, stream(pattern(5000)), mimetype="x/y", max_bytes=4999)
        assert caught.value.code == "media_too_large"
        assert (await _count(pool, "media"), await _count(pool, "media_chunks")) == (0, 0)

    async def test_a_failing_stream_leaves_nothing(
        self, store: PostgresMediaStore, line: str, pool: Pool
    ) -> None:
        async def broken() -> AsyncIterator[bytes]:
            yield pattern(3000)
            raise ConnectionResetError("client went away")

        with pytest.raises(ConnectionResetError):
            await store.put(line, broken(), mimetype="x/y", max_bytes=10_000)
        assert (await _count(pool, "media"), await _count(pool, "media_chunks")) == (0, 0)


class TestBase64:
    """Base64 media is decoded in pieces; bad input names the field."""

    async def test_round_trip_with_line_breaks(self, store: PostgresMediaStore, line: str) -> None:
        import base64

        data = pattern(3000)
        encoded = base64.encodebytes(data).decode()  # with a newline every 76 characters
        info = await ingest_base64(store, line, encoded, "image/png", "a.png", max_bytes=10_000)
        assert await _read(store, line, info.media_id) == data
        assert (info.mimetype, info.filename) == ("image/png", "a.png")

    async def test_data_url_gives_the_mimetype(self, store: PostgresMediaStore, line: str) -> None:
        info = await ingest_base64(
            store, line, "data:image/gif;base64,R0lGODdh", None, None, max_bytes=100
        )
        assert (info.mimetype, info.size) == ("image/gif", 6)

    @pytest.mark.parametrize("data", ["not base64!", "QUJD=QUJD", "QUJDR"])
    async def test_bad_base64_is_invalid_value(
        self, store: PostgresMediaStore, line: str, pool: Pool, data: str
    ) -> None:
        with pytest.raises(InvalidInput) as caught:
            await ingest_base64(store, line, data, "x/y", None, max_bytes=100)
        assert (caught.value.code, caught.value.field) == ("invalid_value", "media.data")
        assert await _count(pool, "media") == 0

    async def test_too_large_is_refused_before_storing(
        self, store: PostgresMediaStore, line: str
    ) -> None:
        with pytest.raises(MediaTooLarge):
            await ingest_base64(store, line, "QUJD" * 100, "x/y", None, max_bytes=299)
