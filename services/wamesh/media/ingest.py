"""A client's media (a URL to fetch, or base64) made into stored media, streamed into the store.

URLs are fetched through the same connect-time SSRF guard as webhooks (`guarded_connector`:
loopback and private addresses only with WEBHOOK_ALLOW_PRIVATE or in dev mode), within
WAMESH_MEDIA_FETCH_TIMEOUT_S, and never past WAMESH_MEDIA_MAX_BYTES: a Content-Length over the
cap is refused before the body is read, and a body that grows past it is cut off there. Every
refusal is a client error, never a 500: a URL the API document refuses is InvalidInput (400,
`invalid_media_url`); one it allows that cannot be fetched (no such host, refused, an error
status, too slow, a private address) is Unprocessable (422, `invalid_media_url`); too large is
`media_too_large`. Nothing is kept when a fetch or a decode fails.
"""

from __future__ import annotations

import asyncio
import binascii
import re
import string
from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import aiohttp

from wamesh.engines.base import MediaInfo
from wamesh.errors import InvalidInput, MediaTooLarge, Unprocessable
from wamesh.media.store import MediaStore
from wamesh.settings import Settings
from wamesh.webhooks.safety import guarded_connector, is_blocked

READ_SIZE = 64 * 1024
BASE64_PIECE = 256 * 1024  # characters decoded at a time (a multiple of 4)
DEFAULT_MIMETYPE = "application/octet-stream"
URL_FIELD = "media.url"
DATA_FIELD = "media.data"
_WHITESPACE = str.maketrans("", "", string.whitespace)
# What `media.data` may hold, for the API schema and for this module alike (same Python `re`
# semantics as jsonschema's `pattern`): standard base64 with its padding, in groups of four, a
# line break allowed after any group (what `base64` prints, 76 characters a line), optionally
# behind a `data:<type>;base64,` prefix. Unambiguous, so matching a 16 MiB body stays linear.
_BASE64 = r"(?:[A-Za-z0-9+/]{4}(?:\r?\n)?)*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?(?:\r?\n)?$"
BASE64_PATTERN = "^" + _BASE64
BASE64_DATA_PATTERN = r"^(?:data:[^,]*;base64,)?" + _BASE64
_BASE64_DATA = re.compile(BASE64_DATA_PATTERN)
# What `media.url` may be, for the API schema and for this module alike: http(s), a host name, an
# IPv4 address or a bracketed IPv6 one (no user info), an optional port, then a path, query or
# fragment without control characters or whitespace.
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
_URL_REST = r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_HOST = r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])"
MEDIA_URL_PATTERN = rf"^https?://{_HOST}(?::{_PORT})?(?:[/?#]{_URL_REST}*)?$"
_MEDIA_URL = re.compile(MEDIA_URL_PATTERN)


def _bad_url(message: str) -> Unprocessable:
    """A media URL the document allows that cannot be fetched."""
    return Unprocessable(message, URL_FIELD, "invalid_media_url")


async def ingest_url(
    store: MediaStore,
    session_id: str,
    url: str,
    *,
    settings: Settings,
    session: aiohttp.ClientSession | None = None,
    mimetype: str | None = None,
    filename: str | None = None,
) -> MediaInfo:
    """Fetch `url` into the line's store (`session`: a client built on `guarded_connector`)."""
    if _MEDIA_URL.match(url) is None:
        message = f"media.url must be an http(s) URL with a host name, got {url[:200]!r}"
        raise InvalidInput(message, URL_FIELD, "invalid_media_url")
    if session is None:
        async with fetch_session(settings) as own:
            return await _fetch(store, session_id, url, settings, own, mimetype, filename)
    return await _fetch(store, session_id, url, settings, session, mimetype, filename)


def fetch_session(settings: Settings) -> aiohttp.ClientSession:
    """A client for media URLs: SSRF-guarded (unless private targets are allowed), no proxy."""
    return aiohttp.ClientSession(connector=guarded_connector(settings), trust_env=False)


async def _fetch(
    store: MediaStore,
    session_id: str,
    url: str,
    settings: Settings,
    session: aiohttp.ClientSession,
    mimetype: str | None,
    filename: str | None,
) -> MediaInfo:
    cap = settings.media_max_bytes
    timeout = aiohttp.ClientTimeout(total=settings.media_fetch_timeout_s)
    try:
        async with session.get(url, timeout=timeout, allow_redirects=True) as resp:
            if resp.status >= 400:
                raise _bad_url(f"the media URL answered HTTP {resp.status}")
            if resp.content_length is not None and resp.content_length > cap:
                resp.close()
                raise MediaTooLarge(cap, URL_FIELD)
            try:
                return await store.put(
                    session_id,
                    resp.content.iter_chunked(READ_SIZE),
                    mimetype=mimetype or _mimetype(resp),
                    filename=filename or _filename(resp, url),
                    max_bytes=cap,
                )
            except BaseException:
                resp.close()  # stop reading at once: do not drain the rest of the body
                raise
    except TimeoutError:
        raise _bad_url(
            f"fetching the media URL took longer than {settings.media_fetch_timeout_s:g} s"
        ) from None
    except (aiohttp.ClientError, OSError, ValueError) as exc:  # ValueError: a URL yarl refuses
        if is_blocked(exc):
            raise _bad_url(
                "the media URL points to a loopback or private address, which is not allowed "
                "(set WEBHOOK_ALLOW_PRIVATE to allow)"
            ) from None
        raise _bad_url(f"cannot fetch the media URL: {type(exc).__name__}: {exc}"[:300]) from None


def _mimetype(resp: aiohttp.ClientResponse) -> str:
    declared = resp.headers.get(aiohttp.hdrs.CONTENT_TYPE)
    return resp.content_type if declared else DEFAULT_MIMETYPE


def _filename(resp: aiohttp.ClientResponse, url: str) -> str | None:
    disposition = resp.content_disposition
    if disposition is not None and disposition.filename:
        return PurePosixPath(disposition.filename).name or None
    name = PurePosixPath(unquote(urlsplit(str(resp.url) or url).path)).name
    return name or None


async def ingest_base64(
    store: MediaStore,
    session_id: str,
    data: str,
    mimetype: str | None,
    filename: str | None,
    *,
    max_bytes: int,
) -> MediaInfo:
    """Decode `data` (base64, or a `data:<type>;base64,` URL) piece by piece into the store."""
    if _BASE64_DATA.match(data) is None:
        raise InvalidInput(
            "media.data: expected base64 (groups of four, padded; a line break may follow any "
            "group) or a data:<type>;base64, URL",
            DATA_FIELD,
        )
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        declared = header[5:].split(";", 1)[0]
        if not header.endswith(";base64"):
            raise InvalidInput("media.data: a data URL must be base64 encoded", DATA_FIELD)
        mimetype = mimetype or declared or None
    if (
        _decoded_size(data) > max_bytes + 2
        and _decoded_size(data.translate(_WHITESPACE)) - 2 > max_bytes
    ):
        raise MediaTooLarge(max_bytes, DATA_FIELD)  # refused before any of it is stored
    return await store.put(
        session_id,
        _decoded(data),
        mimetype=mimetype or DEFAULT_MIMETYPE,
        filename=filename,
        max_bytes=max_bytes,
    )


def _decoded_size(text: str) -> int:
    return len(text) // 4 * 3


async def _decoded(data: str) -> AsyncIterator[bytes]:
    carry = ""
    for start in range(0, len(data), BASE64_PIECE):
        text = carry + data[start : start + BASE64_PIECE].translate(_WHITESPACE)
        whole = len(text) - len(text) % 4
        carry = text[whole:]
        if whole:
            yield _decode(text[:whole])
        await asyncio.sleep(0)  # a large body must not hold the event loop
    if carry:
        raise InvalidInput("media.data is not valid base64 (truncated)", DATA_FIELD)


def _decode(text: str) -> bytes:
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise InvalidInput("media.data is not valid base64", DATA_FIELD) from None
