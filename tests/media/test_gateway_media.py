"""Media through the gateway's REST front: upload (raw and multipart), download, Range, the cap,
other lines, the OpenAPI document, and the purge the gateway runs."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import aiohttp
import pytest

from tests.gateway.conftest import Api, api, gateway, gateway_settings
from tests.media.conftest import pattern, stream
from wamesh.db.pool import Pool
from wamesh.gateway.app import running_gateway
from wamesh.gateway.rest.media import RangeNotSatisfiable, byte_range
from wamesh.media.postgres import PostgresMediaStore

__all__ = ["api", "gateway"]
DATA = pattern(300_000)
SHA = hashlib.sha256(DATA).hexdigest()


async def _upload(api: Api, line: str, data: bytes = DATA, **kwargs: object) -> tuple[int, dict]:
    headers = {"Content-Type": "image/png"}
    return await api.call(
        "POST", f"/v1/sessions/{line}/media", None, data=data, headers=headers, **kwargs
    )


async def _count(pool: Pool) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM wamesh.media")
        row = await cursor.fetchone()
    assert row is not None
    return int(row["n"])


class TestUploadAndDownload:
    """What is uploaded comes back whole, with headers a browser or curl can use."""

    async def test_raw_upload_round_trip(self, api: Api, make_line: Callable[..., str]) -> None:
        line = make_line()
        status, reply = await _upload(api, line, params={"filename": "cat photo.png"})
        assert status == 201, reply
        assert reply["mimetype"] == "image/png"
        assert (reply["size"], reply["sha256"], reply["filename"]) == (
            len(DATA),
            SHA,
            "cat photo.png",
        )
        assert reply["url"] == f"/v1/sessions/{line}/media/{reply['media_id']}"
        async with api.http.get(api.base + reply["url"], headers=api.headers) as resp:
            body = await resp.read()
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "image/png"
            assert resp.headers["Content-Length"] == str(len(DATA))
            assert resp.headers["ETag"] == f'"{SHA}"'
            assert resp.headers["Accept-Ranges"] == "bytes"
            assert "cat%20photo.png" in resp.headers["Content-Disposition"]
        assert hashlib.sha256(body).hexdigest() == SHA

    async def test_multipart_upload_round_trip(
        self, api: Api, make_line: Callable[..., str]
    ) -> None:
        line = make_line()
        form = aiohttp.FormData()
        form.add_field("caption", "ignored")
        form.add_field("file", DATA, filename="doc.pdf", content_type="application/pdf")
        async with api.http.post(
            f"{api.base}/v1/sessions/{line}/media", data=form, headers=api.headers
        ) as resp:
            reply = await resp.json()
            assert resp.status == 201, reply
        assert (reply["mimetype"], reply["filename"], reply["sha256"]) == (
            "application/pdf",
            "doc.pdf",
            SHA,
        )
        status, body = await api.call("GET", reply["url"])
        assert status == 200
        assert hashlib.sha256(body).hexdigest() == SHA

    async def test_multipart_without_a_file_is_400(
        self, api: Api, make_line: Callable[..., str]
    ) -> None:
        form = aiohttp.FormData({"caption": "no file"}, default_to_multipart=True)
        async with api.http.post(
            f"{api.base}/v1/sessions/{make_line()}/media", data=form, headers=api.headers
        ) as resp:
            assert (resp.status, (await resp.json())["field"]) == (400, "file")

    async def test_a_part_header_aiohttp_cannot_parse_is_400_not_500(
        self, api: Api, make_line: Callable[..., str]
    ) -> None:
        # Found by schemathesis: a control character in a part's name made aiohttp's multipart
        # reader raise while the handler read the body, and the gateway answered 500 text/plain.
        boundary = "wameshboundary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="\x1f"\r\n\r\n\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\nx\r\n--{boundary}--\r\n"
        ).encode()
        headers = {**api.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        async with api.http.post(
            f"{api.base}/v1/sessions/{make_line()}/media", data=body, headers=headers
        ) as resp:
            assert resp.status == 400, await resp.text()
            assert resp.content_type == "application/problem+json"
            assert (await resp.json())["code"] == "malformed_body"


class TestRange:
    """A single byte range answers 206 with exactly those bytes; one past the end answers 416."""

    @pytest.mark.parametrize(
        ("header", "start", "end"),
        [
            ("bytes=0-0", 0, 1),
            ("bytes=1000-270000", 1000, 270001),
            ("bytes=299990-", 299990, 300000),
            ("bytes=-10", 299990, 300000),
            ("bytes=5-999999999", 5, 300000),
        ],
    )
    async def test_partial_content(
        self, api: Api, make_line: Callable[..., str], header: str, start: int, end: int
    ) -> None:
        line = make_line()
        _, reply = await _upload(api, line)
        async with api.http.get(
            api.base + reply["url"], headers={**api.headers, "Range": header}
        ) as resp:
            body = await resp.read()
            assert resp.status == 206
            assert resp.headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(DATA)}"
            assert resp.headers["Content-Length"] == str(end - start)
        assert body == DATA[start:end]

    async def test_unsatisfiable_range_is_416(
        self, api: Api, make_line: Callable[..., str]
    ) -> None:
        line = make_line()
        _, reply = await _upload(api, line)
        status, problem = await api.call(
            "GET", reply["url"], headers={"Range": f"bytes={len(DATA)}-"}
        )
        assert (status, problem["code"]) == (416, "range_not_satisfiable")

    async def test_if_range_with_another_etag_serves_everything(
        self, api: Api, make_line: Callable[..., str]
    ) -> None:
        _, reply = await _upload(api, make_line())
        headers = {**api.headers, "Range": "bytes=0-9", "If-Range": '"other"'}
        async with api.http.get(api.base + reply["url"], headers=headers) as resp:
            assert (resp.status, len(await resp.read())) == (200, len(DATA))

    def test_range_parsing(self) -> None:
        assert byte_range(None, 10) is None
        assert byte_range("items=0-1", 10) is None
        assert byte_range("bytes=0-1,4-5", 10) is None
        assert byte_range("bytes=5-2", 10) is None
        assert byte_range("bytes=2-5", 10) == (2, 6)
        with pytest.raises(RangeNotSatisfiable):
            byte_range("bytes=-0", 10)
        with pytest.raises(RangeNotSatisfiable):
            byte_range("bytes=10-", 10)


class TestRefusals:
    """Unknown lines and media, other lines' media, no key: each its documented problem."""

    async def test_another_lines_media_is_404(
        self, api: Api, make_line: Callable[..., str]
    ) -> None:
        _, reply = await _upload(api, make_line())
        other = make_line(name="other")
        status, problem = await api.call("GET", f"/v1/sessions/{other}/media/{reply['media_id']}")
        assert (status, problem["code"]) == (404, "media_not_found")

    async def test_unknown_media_and_unknown_line(
        self, api: Api, make_line: Callable[..., str]
    ) -> None:
        line = make_line()
        status, problem = await api.call(
            "GET", f"/v1/sessions/{line}/media/00000000-0000-0000-0000-000000000000"
        )
        assert (status, problem["code"]) == (404, "media_not_found")
        status, problem = await api.call("GET", f"/v1/sessions/{line}/media/nope")
        assert (status, problem["code"]) == (404, "media_not_found")
        status, problem = await _upload(api, "00000000-0000-0000-0000-000000000000")
        assert (status, problem["code"]) == (404, "session_not_found")

    async def test_the_key_is_required(self, api: Api, make_line: Callable[..., str]) -> None:
        line = make_line()
        async with api.http.post(f"{api.base}/v1/sessions/{line}/media", data=b"x") as resp:
            assert resp.status == 401
        _, reply = await _upload(api, line)
        async with api.http.get(api.base + reply["url"]) as resp:
            assert resp.status == 401


@pytest.fixture
async def small_api(database_url: str, redis_url: str) -> AsyncIterator[Api]:
    """A gateway that keeps at most 100,000 bytes per media."""
    settings = gateway_settings(database_url, redis_url, WAMESH_MEDIA_MAX_BYTES="100000")
    async with running_gateway(settings) as running, aiohttp.ClientSession() as http:
        yield Api(http, f"http://127.0.0.1:{running.http_port}")


class TestCap:
    """Past WAMESH_MEDIA_MAX_BYTES: 413 media_too_large and nothing stored."""

    async def test_declared_length_over_the_cap(
        self, small_api: Api, make_line: Callable[..., str], pool: Pool
    ) -> None:
        status, problem = await _upload(small_api, make_line())
        assert (status, problem["code"]) == (413, "media_too_large")
        assert await _count(pool) == 0

    async def test_streamed_body_over_the_cap(
        self, small_api: Api, make_line: Callable[..., str], pool: Pool
    ) -> None:
        status, problem = await _upload(small_api, make_line(), data=stream(DATA, 50_000))
        assert (status, problem["code"]) == (413, "media_too_large")
        assert await _count(pool) == 0

    async def test_multipart_over_the_cap(
        self, small_api: Api, make_line: Callable[..., str], pool: Pool
    ) -> None:
        form = aiohttp.FormData()
        form.add_field("file", DATA, filename="big.bin")
        async with small_api.http.post(
            f"{small_api.base}/v1/sessions/{make_line()}/media",
            data=form,
            headers=small_api.headers,
        ) as resp:
            assert (resp.status, (await resp.json())["code"]) == (413, "media_too_large")
        assert await _count(pool) == 0


class TestDocumentAndPurge:
    """The document names the media schemas; the gateway purges expired media at start."""

    async def test_media_info_is_a_named_component(self, api: Api) -> None:
        _, doc = await api.call("GET", "/openapi.json")
        assert doc["components"]["schemas"]["MediaInfo"]["required"][0] == "media_id"
        created = doc["paths"]["/v1/sessions/{id}/media"]["post"]["responses"]["201"]
        ref = created["content"]["application/json"]["schema"]
        assert ref == {"$ref": "#/components/schemas/MediaInfo"}

    async def test_expired_media_is_purged_when_the_gateway_starts(
        self, database_url: str, redis_url: str, pool: Pool, make_line: Callable[..., str]
    ) -> None:
        store = PostgresMediaStore(pool, timedelta(0))
        await store.put(make_line(), stream(b"old"), mimetype="x/y", max_bytes=10)
        assert await _count(pool) == 1
        async with running_gateway(gateway_settings(database_url, redis_url)):
            async with asyncio.timeout(5):
                while await _count(pool):
                    await asyncio.sleep(0.05)
