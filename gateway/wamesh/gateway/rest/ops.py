"""Operations endpoints, open without an API key: `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

import asyncio

from aiohttp import web

from wamesh.gateway import schemas as s
from wamesh.gateway.api import Operation, Response
from wamesh.gateway.context import gateway_of
from wamesh.gateway.metrics import CONTENT_TYPE
from wamesh.gateway.render import json_response

READY_TIMEOUT_S = 2.0


async def healthz(request: web.Request) -> web.StreamResponse:
    """The process is up."""
    del request
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.StreamResponse:
    """PostgreSQL and Redis answer."""
    gw = gateway_of(request)
    checks = {
        "postgres": await _check(_ping_postgres(request)),
        "redis": await _check(gw.redis.ping()),
    }
    ready = all(v == "ok" for v in checks.values())
    return json_response(
        {"status": "ready" if ready else "not_ready", **checks}, 200 if ready else 503
    )


async def _ping_postgres(request: web.Request) -> None:
    async with gateway_of(request).pool.connection() as conn:
        await conn.execute("SELECT 1")


async def _check(probe: object) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await probe  # type: ignore[misc]
    except Exception as exc:  # any failure means not ready; the kind is reported
        return f"error: {type(exc).__name__}"
    return "ok"


async def metrics(request: web.Request) -> web.StreamResponse:
    """Prometheus exposition."""
    metrics = gateway_of(request).metrics
    await metrics.refresh()
    body = metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


_TAG = "operations"
OPERATIONS = [
    Operation(
        "GET", "/healthz", healthz, "Liveness", _TAG, response=Response("Up", s.HEALTH), public=True
    ),
    Operation(
        "GET",
        "/readyz",
        readyz,
        "Readiness: PostgreSQL and Redis reachable",
        _TAG,
        response=Response("Ready", s.HEALTH),
        public=True,
        extra_responses={503: Response("Not ready", s.HEALTH)},
    ),
    Operation(
        "GET",
        "/metrics",
        metrics,
        "Prometheus metrics",
        _TAG,
        response=Response("Metrics", {"type": "string"}, ("text/plain",)),
        public=True,
    ),
]
