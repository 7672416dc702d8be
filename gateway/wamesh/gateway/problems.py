"""Errors as `application/problem+json` (RFC 9457) with a stable `code`: one table, one middleware.

Domain errors map to HTTP status through the one table of codes, `wamesh.errors.CODES`.
aiohttp's own 404/405/413 become problems with the codes `route_not_found`,
`method_not_allowed` and `body_too_large` (naming the limit). A PostgreSQL or Redis outage
(`wamesh.dependencies`) becomes 503 `dependency_unavailable` naming the dependency; every
503 carries `Retry-After`. A request aiohttp cannot parse (a NUL byte in a header) is the
client's error: `ClientErrorsAsWarnings` logs it as one WARNING line instead of a traceback; one
found while a handler reads the body (a broken multipart part header) is 400 `malformed_body`.
Anything else a handler raises is a defect: logged with its traceback at ERROR and answered 500
`internal_error` as problem+json, never aiohttp's text/plain page.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from wamesh import errors
from wamesh.dependencies import DEPENDENCY_ERRORS, unavailable

_LOGGER = logging.getLogger(__name__)
PROBLEM_TYPE = "application/problem+json"
OFFLINE_RETRY_AFTER_S = 5

_BODY_LIMIT = re.compile(r"Maximum request body size ([0-9.]+)")
_AIOHTTP_CODES = {404: "route_not_found", 405: "method_not_allowed", 413: "body_too_large"}


def status_for(exc: errors.WameshError) -> int:
    """The HTTP status of the error's code in the one table (`wamesh.errors.CODES`)."""
    return errors.code_row(exc.code).http


def problem(status: int, code: str, detail: str, **extra: Any) -> web.Response:
    """A problem+json response."""
    body = {
        "type": f"urn:wamesh:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail,
        "code": code,
        **{k: v for k, v in extra.items() if v is not None},
    }
    headers = {}
    if status == 503:
        headers["Retry-After"] = str(OFFLINE_RETRY_AFTER_S)
    return web.Response(
        status=status, text=json.dumps(body), content_type=PROBLEM_TYPE, headers=headers
    )


def from_error(exc: errors.WameshError) -> web.Response:
    """The problem for a domain error, with the fields a client can act on."""
    return problem(
        status_for(exc),
        exc.code,
        exc.message,
        field=getattr(exc, "field", None),
        session_status=getattr(exc, "status", None),
        engine=getattr(exc, "engine", None),
        dependency=getattr(exc, "dependency", None),
    )


@web.middleware
async def problem_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn every error into a problem response."""
    try:
        return await handler(request)
    except errors.WameshError as exc:
        if status_for(exc) >= 500 and not isinstance(exc, errors.NotSupported):
            _LOGGER.warning("request failed: %s: %s", exc.code, exc.message)
        return from_error(exc)
    except DEPENDENCY_ERRORS as exc:
        outage = unavailable(exc)
        if outage is None:
            raise
        _LOGGER.warning("request failed: %s: %s", outage.code, outage.message)
        return from_error(outage)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _AIOHTTP_CODES.get(exc.status, f"http_{exc.status}")
        response = _from_http_exception(exc, code)
        if exc.status == 405:
            response.headers["Allow"] = exc.headers.get("Allow", "")
        return response
    except HttpProcessingError as exc:  # a body aiohttp could not parse while a handler read it
        _LOGGER.warning("bad request body refused: %s", _first_line(exc))
        return problem(400, "malformed_body", f"the request body is malformed: {_first_line(exc)}")
    except Exception:  # a defect: logged with its traceback, answered as a problem, not text
        _LOGGER.exception("unhandled error in %s %s", request.method, _route(request))
        if request.writer.output_size > 0:
            raise  # a streamed answer already started: nothing else can be sent now
        return problem(500, "internal_error", "the gateway failed; the error is in its log")


def _from_http_exception(exc: web.HTTPException, code: str) -> web.Response:
    """aiohttp's refusal as a problem; a 413 names the limit (in words and in `limit`)."""
    found = _BODY_LIMIT.search(exc.text or "") if exc.status == 413 else None
    if found is None:
        return problem(exc.status, code, exc.reason)
    limit = int(float(found[1]))
    detail = f"the request body is larger than this route's limit of {limit} bytes"
    return problem(exc.status, code, detail, limit=limit)


def _route(request: web.Request) -> str:
    """The route's template (never the raw path, which may hold ids or secrets)."""
    info = request.match_info.route.resource
    return info.canonical if info is not None else "(no route)"


class ClientErrorsAsWarnings(logging.Filter):
    """On aiohttp's server logger: a request it could not parse (4xx) becomes one WARNING line,
    without the traceback or the offending bytes (a header may hold a secret)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite client errors in place; let every record through."""
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "bad request refused (%s): %s", (exc.code, _first_line(exc))
            record.exc_info, record.exc_text = None, None
        return True


def _first_line(exc: HttpProcessingError) -> str:
    return (exc.message or type(exc).__name__).strip().splitlines()[0].rstrip(":")


CLIENT_ERRORS_AS_WARNINGS = ClientErrorsAsWarnings()
