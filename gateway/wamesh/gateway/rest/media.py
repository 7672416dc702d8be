"""`/v1/sessions/{id}/media`: upload media to a line's store, download it (with Range).

Bodies are streamed from the request into the store and from the store into the response; no
file is ever held whole. Downloads are served as attachments with `nosniff` and a sandboxing CSP,
so an uploaded HTML file cannot run on the gateway's origin (the dashboard lives there).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import quote

from aiohttp import BodyPartReader, hdrs, web

from wamesh import lines
from wamesh.engines.base import MediaInfo
from wamesh.errors import InvalidInput, MediaTooLarge
from wamesh.gateway import schemas as s
from wamesh.gateway.api import Operation, Query, Response, line_id, query_param
from wamesh.gateway.context import gateway_of, media_of
from wamesh.gateway.problems import PROBLEM_TYPE, problem
from wamesh.gateway.render import json_response
from wamesh.session.events import media_data

READ_SIZE = 64 * 1024
MAX_FILENAME = 255
MAX_MIMETYPE = 255
DEFAULT_MIMETYPE = "application/octet-stream"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")
_NO_CONTROL = "^[^\\u0000-\\u001f\\u007f]*$"  # the same rule, as the document states it


class RangeNotSatisfiable(Exception):
    """The Range names no byte of the media."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) of a single `bytes=a-b`, `a-` or `-n` Range; None to serve the whole body
    (no header, another unit, several ranges, or a malformed one: RFC 9110 says ignore it)."""
    match = _RANGE.fullmatch((header or "").strip().replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - suffix, 0), size
    start = int(first)
    if last != "" and int(last) < start:
        return None
    end = size if last == "" else int(last) + 1
    if start >= size:
        raise RangeNotSatisfiable
    return start, min(end, size)


def _filename(raw: str | None, field: str = "filename") -> str | None:
    """A bare file name fit to store (no folders, no control characters), or None."""
    if raw is None:
        return None
    if _UNSAFE_NAME.search(raw) or len(raw) > MAX_FILENAME:
        raise InvalidInput(f"{field}: control characters or longer than {MAX_FILENAME}", field)
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field}: not valid UTF-8", field) from None
    if _UNSAFE_NAME.search(name) or len(name) > MAX_FILENAME:
        raise InvalidInput(f"{field}: control characters or longer than {MAX_FILENAME}", field)
    return name or None


def _mimetype(raw: str | None) -> str:
    value = (raw or "").strip().lower() or DEFAULT_MIMETYPE
    if len(value) > MAX_MIMETYPE or "/" not in value or _UNSAFE_NAME.search(value):
        raise InvalidInput(f"Content-Type {value[:50]!r} is not a media type", "Content-Type")
    return value


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(READ_SIZE):
        yield chunk


async def _put_multipart(request: web.Request, line: str, max_bytes: int) -> MediaInfo:
    named = _filename(query_param(request, "filename"))  # checked even when a part names itself
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and (part.filename or part.name == "file"):
                return await media_of(request).put(
                    line,
                    _part_chunks(part),
                    mimetype=_mimetype(part.headers.get(hdrs.CONTENT_TYPE)),
                    filename=_filename(part.filename) or named,
                    max_bytes=max_bytes,
                )
            await part.release()
    except (ValueError, AssertionError) as exc:  # what aiohttp raises for a broken multipart body
        raise InvalidInput(f"malformed multipart body: {exc}", "file") from None
    raise InvalidInput("the multipart body has no file part (name it `file`)", "file")


async def upload_media(request: web.Request) -> web.StreamResponse:
    """Store a file for the line: the raw body (its Content-Type) or one multipart file part."""
    gw = gateway_of(request)
    line = (await lines.get_line(gw.pool, line_id(request))).id
    cap = gw.settings.media_max_bytes
    if request.content_type == "multipart/form-data":
        info = await _put_multipart(request, line, cap)
    else:
        if request.content_length is not None and request.content_length > cap:
            raise MediaTooLarge(cap)
        info = await media_of(request).put(
            line,
            request.content.iter_chunked(READ_SIZE),
            mimetype=_mimetype(
                request.content_type if hdrs.CONTENT_TYPE in request.headers else None
            ),
            filename=_filename(query_param(request, "filename")),
            max_bytes=cap,
        )
    body = media_data(line, info)
    response = json_response(body, 201)
    response.headers[hdrs.LOCATION] = body["url"]
    return response


def _disposition(filename: str | None) -> str:
    if not filename:
        return "attachment"
    fallback = filename.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def get_media(request: web.Request) -> web.StreamResponse:
    """Stream stored media (a single byte Range gives 206)."""
    gw = gateway_of(request)
    line = (await lines.get_line(gw.pool, line_id(request))).id
    store = media_of(request)
    info = await store.info(line, request.match_info["media_id"])
    etag = f'"{info.sha256}"'
    headers = {
        hdrs.ETAG: etag,
        hdrs.ACCEPT_RANGES: "bytes",
        hdrs.CONTENT_DISPOSITION: _disposition(info.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        hdrs.CACHE_CONTROL: "private, max-age=3600",
    }
    if request.headers.get(hdrs.IF_NONE_MATCH) in (etag, "*"):
        return web.Response(status=304, headers=headers)
    ranged = request.headers.get(hdrs.IF_RANGE, etag) == etag
    try:
        span = byte_range(request.headers.get(hdrs.RANGE), info.size) if ranged else None
    except RangeNotSatisfiable:
        refused = problem(416, "range_not_satisfiable", f"the media has {info.size} bytes")
        refused.headers[hdrs.CONTENT_RANGE] = f"bytes */{info.size}"
        return refused
    start, end = span or (0, info.size)
    response = web.StreamResponse(status=206 if span else 200, headers=headers)
    response.content_type = info.mimetype
    response.content_length = end - start
    if span is not None:
        response.headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end - 1}/{info.size}"
    await response.prepare(request)
    async for piece in store.open(line, info.media_id, start, end):
        await response.write(piece)
    await response.write_eof()
    return response


_PROBLEM_416 = Response(
    "The Range names no byte of the media (Content-Range: bytes */size)",
    {"$ref": "#/components/schemas/Problem"},
    (PROBLEM_TYPE,),
)

OPERATIONS = [
    Operation(
        "POST",
        "/v1/sessions/{id}/media",
        upload_media,
        "Upload media for the line: the raw body with its Content-Type (any media type; name "
        "it with ?filename=), or multipart/form-data with one file part. Streamed, capped at "
        "WAMESH_MEDIA_MAX_BYTES, kept WAMESH_MEDIA_RETENTION_HOURS",
        "media",
        ok=201,
        response=Response("Stored", s.MEDIA_INFO),
        raw_body={"application/octet-stream": s.BINARY, "multipart/form-data": s.MEDIA_UPLOAD},
        query=[
            Query(
                "filename",
                "The file's name (raw bodies; a multipart part names itself)",
                {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_FILENAME,
                    "pattern": "^[^\\u0000-\\u001f\\u007f]*$",
                },
            )
        ],
        errors=(400, 404, 413),
    ),
    Operation(
        "GET",
        "/v1/sessions/{id}/media/{media_id}",
        get_media,
        "Download stored media (ETag = SHA-256; a single `Range: bytes=a-b` answers 206)",
        "media",
        response=Response("The media's bytes", s.BINARY, ("*/*",)),
        errors=(404,),
        extra_responses={
            206: Response("The requested range (Content-Range)", s.BINARY, ("*/*",)),
            304: Response("Not modified (If-None-Match matched the ETag)"),
            416: _PROBLEM_416,
        },
    ),
]
