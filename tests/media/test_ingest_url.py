"""Media fetched from a URL: the webhook SSRF guard, the size cap (declared and streamed), the
fetch timeout, and the name and type the server gives. Servers run on loopback."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from tests.media.conftest import pattern
from wamesh.db.pool import Pool
from wamesh.errors import InvalidInput, MediaTooLarge
from wamesh.media.ingest import ingest_url
from wamesh.media.postgres import PostgresMediaStore
from wamesh.settings import Settings

DATA = pattern(200_000)
CAP = 100_000


@dataclass
class Origin:
    """A loopback HTTP server and what it saw."""

    url: str
    sent: int = 0
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)


async def _file(request: web.Request) -> web.StreamResponse:
    return web.Response(
        body=DATA[:50_000],
        content_type="image/jpeg",
        headers={"Content-Disposition": 'attachment; filename="holiday.jpg"'},
    )


def _endless(origin: Origin) -> Callable[[web.Request], object]:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to refuse up front
        response.content_type = "video/mp4"
        await response.prepare(request)
        try:
            for _ in range(2000):  # 128 MB if nobody stops reading
                await response.write(b"\x00" * 64_000)
                origin.sent += 64_000
                await asyncio.sleep(0)
        except (ConnectionError, asyncio.CancelledError):
            origin.disconnected.set()
            raise
        return response

    return handler


def _declared(origin: Origin) -> Callable[[web.Request], object]:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = CAP * 100
        await response.prepare(request)
        try:
            for _ in range(600):  # a trickle: the client must not wait for the body
                await response.write(b"x" * 1000)
                origin.sent += 1000
                await asyncio.sleep(0.05)
        except (ConnectionError, asyncio.CancelledError):
            origin.disconnected.set()
            raise
        return response

    return handler


async def _slow(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(30)
    return web.Response(text="late")


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    """Serves /files/photo.bin, /endless, /declared, /slow and a 404."""
    found = Origin("")
    app = web.Application()
    app.router.add_get("/files/photo.bin", _file)
    app.router.add_get("/endless", _endless(found))
    app.router.add_get("/declared", _declared(found))
    app.router.add_get("/slow", _slow)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield found
    await runner.cleanup()


def _settings(**env: str) -> Settings:
    return Settings.from_env({"WAMESH_MEDIA_MAX_BYTES": str(CAP), **env})


ALLOWED = {"WEBHOOK_ALLOW_PRIVATE": "true"}


async def _rows(pool: Pool) -> tuple[int, int]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT (SELECT count(*) FROM wamesh.media) AS m, (SELECT count(*) FROM wamesh.media_chunks) AS c"
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row["m"]), int(row["c"])


class TestFetch:
    """A URL the guard allows is stored with the server's type and name."""

    async def test_fetched_and_stored(
        self, store: PostgresMediaStore, line: str, origin: Origin
    ) -> None:
        info = await ingest_url(
            store, line, origin.url + "/files/photo.bin", settings=_settings(**ALLOWED)
        )
        assert (info.mimetype, info.filename, info.size) == ("image/jpeg", "holiday.jpg", 50_000)
        assert info.sha256 == hashlib.sha256(DATA[:50_000]).hexdigest()

    async def test_arguments_win_over_the_server(
        self, store: PostgresMediaStore, line: str, origin: Origin
    ) -> None:
        info = await ingest_url(
            store,
            line,
            origin.url + "/files/photo.bin",
            settings=_settings(**ALLOWED),
            mimetype="image/png",
            filename="mine.png",
        )
        assert (info.mimetype, info.filename) == ("image/png", "mine.png")

    async def test_dev_mode_allows_loopback_too(
        self, store: PostgresMediaStore, line: str, origin: Origin
    ) -> None:
        settings = _settings(WAMESH_DEV="true")
        info = await ingest_url(store, line, origin.url + "/files/photo.bin", settings=settings)
        assert info.size == 50_000


class TestRefused:
    """Every refusal is invalid input (never a 500), and nothing is kept."""

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
    async def test_loopback_is_refused_unless_allowed(
        self, store: PostgresMediaStore, line: str, pool: Pool, origin: Origin, host: str
    ) -> None:
        url = origin.url.replace("127.0.0.1", host) + "/files/photo.bin"
        with pytest.raises(InvalidInput) as caught:
            await ingest_url(store, line, url, settings=_settings())
        assert (caught.value.code, caught.value.field) == ("invalid_media_url", "media.url")
        assert "private address" in caught.value.message
        assert await _rows(pool) == (0, 0)

    @pytest.mark.parametrize("url", ["ftp://example.com/a", "file:///etc/passwd", "not a url"])
    async def test_only_http_urls(self, store: PostgresMediaStore, line: str, url: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            await ingest_url(store, line, url, settings=_settings(**ALLOWED))
        assert caught.value.code == "invalid_media_url"

    async def test_an_error_status(
        self, store: PostgresMediaStore, line: str, origin: Origin
    ) -> None:
        with pytest.raises(InvalidInput, match="HTTP 404") as caught:
            await ingest_url(store, line, origin.url + "/missing", settings=_settings(**ALLOWED))
        assert caught.value.code == "invalid_media_url"

    async def test_the_fetch_timeout(
        self, store: PostgresMediaStore, line: str, origin: Origin
    ) -> None:
        settings = _settings(WAMESH_MEDIA_FETCH_TIMEOUT_S="0.3", **ALLOWED)
        with pytest.raises(InvalidInput, match=r"longer than 0\.3 s"):
            await ingest_url(store, line, origin.url + "/slow", settings=settings)

    async def test_a_body_past_the_cap_stops_at_the_cap(
        self, store: PostgresMediaStore, line: str, pool: Pool, origin: Origin
    ) -> None:
        with pytest.raises(MediaTooLarge):
            await ingest_url(store, line, origin.url + "/endless", settings=_settings(**ALLOWED))
        async with asyncio.timeout(5):
            await origin.disconnected.wait()
        # Stopped at the cap: what was sent past it sat in socket buffers (a few MB on
        # loopback), far from the 128 MB the server would have sent to a reader that went on.
        assert origin.sent < 20_000_000
        assert await _rows(pool) == (0, 0)

    async def test_a_declared_length_past_the_cap_is_refused_before_reading(
        self, store: PostgresMediaStore, line: str, pool: Pool, origin: Origin
    ) -> None:
        async with asyncio.timeout(5):  # the server never sends the body it announced
            with pytest.raises(MediaTooLarge):
                await ingest_url(
                    store, line, origin.url + "/declared", settings=_settings(**ALLOWED)
                )
            await origin.disconnected.wait()
        assert origin.sent < 100_000
        assert await _rows(pool) == (0, 0)
