"""A request aiohttp cannot parse is the client's error: 400, and one warning line in the log,
never a traceback at ERROR (nor the offending bytes, which may be a key)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from wamesh.gateway.app import RunningGateway


@pytest.mark.parametrize("header", [b"X-Request-Id: a\x00b", b"X-Api-Key: sec\x00ret"])
async def test_a_nul_byte_in_a_header_is_refused_without_a_traceback(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture, header: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.http_port)
    writer.write(b"GET /v1/sessions HTTP/1.1\r\nHost: gateway\r\n" + header + b"\r\n\r\n")
    await writer.drain()
    answer = await reader.read(100)
    writer.close()
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer
    server = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert [r.levelno for r in server] == [logging.WARNING]
    assert server[0].exc_info is None
    assert "sec" not in server[0].getMessage()
