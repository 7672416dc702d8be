"""Fixtures for rich-message tests: a gateway, sandbox lines paired through it, outbox reads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg

from tests.gateway.conftest import Api, api, gateway, grpc_channel, scan, spawn
from tests.support.workers import WorkerProcess

__all__ = ["api", "gateway", "grpc_channel", "spawn"]

CONTACT = "4915112345678@s.whatsapp.net"
HOOK = "http://127.0.0.1:9/hook"  # nothing listens: rows stay in the outbox to be read


async def paired_line(api: Api, spawn: Callable[..., WorkerProcess], **env: str) -> str:
    """A sandbox line with a webhook URL, its worker running, scanned to ready."""
    status, reply = await api.call(
        "POST", "/v1/sessions", {"name": "rich", "engine": "sandbox", "webhook_url": HOOK}
    )
    assert status == 201, reply
    line = str(reply["session"]["id"])
    spawn(line, **env).wait_registered()
    await scan(api, line)
    return line


def outbox(database_url: str, line: str, event_type: str) -> list[dict[str, Any]]:
    """The webhook bodies of one event type, oldest first."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT payload FROM wamesh.webhook_deliveries WHERE session_id = %s AND event_type = %s "
            "ORDER BY created_at",
            (line, event_type),
        ).fetchall()
    return [row[0] for row in rows]


async def wait_outbox(
    database_url: str, line: str, event_type: str, count: int = 1, timeout: float = 10
) -> list[dict[str, Any]]:
    """Wait until the outbox holds `count` rows of `event_type`; return them."""
    async with asyncio.timeout(timeout):
        while len(found := outbox(database_url, line, event_type)) < count:
            await asyncio.sleep(0.05)
    return found


async def sent_log(api: Api, line: str) -> dict[str, Any]:
    """What the sandbox's simulated server received (messages and actions)."""
    status, reply = await api.call("GET", f"/v1/sessions/{line}/sandbox/sent")
    assert status == 200, reply
    return dict(reply)
