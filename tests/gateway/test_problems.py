"""The problem middleware on a real aiohttp app: a defect in a handler is answered as problem+json
500 `internal_error` with its traceback logged at ERROR (never aiohttp's text/plain page), and a
body aiohttp cannot parse while a handler reads it is the client's 400 `malformed_body`."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from wamesh.gateway.problems import PROBLEM_TYPE, problem_middleware


async def _defect(request: web.Request) -> web.StreamResponse:
    raise RuntimeError("a bug with secret=s3cr3t in its message")


async def _unparsable(request: web.Request) -> web.StreamResponse:
    raise BadHttpMessage("Invalid HTTP header: b'\\x1f'")


async def _serve(caplog: pytest.LogCaptureFixture, path: str) -> tuple[int, str, dict[str, str]]:
    app = web.Application(middlewares=[problem_middleware])
    app.router.add_get("/defect/{id}", _defect)
    app.router.add_get("/unparsable", _unparsable)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}{path}") as resp,
        ):
            return resp.status, resp.content_type, await resp.json(content_type=None)
    finally:
        await runner.cleanup()


class TestProblems:
    async def test_a_defect_is_a_logged_500_problem(self, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.ERROR, "wamesh.gateway.problems"):
            status, kind, body = await _serve(caplog, "/defect/line-123")
        assert (status, kind, body["code"]) == (500, PROBLEM_TYPE, "internal_error")
        assert "s3cr3t" not in str(body)
        [record] = [r for r in caplog.records if r.name == "wamesh.gateway.problems"]
        assert record.levelno == logging.ERROR
        assert record.exc_info is not None
        assert "/defect/{id}" in record.getMessage()
        assert "line-123" not in record.getMessage()

    async def test_an_unparsable_body_is_400(self, caplog: pytest.LogCaptureFixture) -> None:
        status, kind, body = await _serve(caplog, "/unparsable")
        assert (status, kind, body["code"]) == (400, PROBLEM_TYPE, "malformed_body")
