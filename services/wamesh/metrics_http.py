"""A process's Prometheus `/metrics` endpoint (session workers and webhook workers): a small
aiohttp server on the process's own event loop, no thread, started only when WAMESH_METRICS_PORT
asks for one (the gateway serves `/metrics` on its REST port instead)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

_LOGGER = logging.getLogger(__name__)
METRICS_PATH = "/metrics"
METRICS_OFF = -1


def metrics_app(registry: CollectorRegistry) -> web.Application:
    """An app answering `GET /metrics` with `registry`'s exposition text."""

    async def render(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get(METRICS_PATH, render)
    return app


@asynccontextmanager
async def serving_metrics(
    registry: CollectorRegistry, host: str, port: int
) -> AsyncIterator[int | None]:
    """Serve `registry` on `host:port` while inside; yields the bound port (None when off)."""
    if port == METRICS_OFF:
        yield None
        return
    runner = web.AppRunner(metrics_app(registry), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = int(runner.addresses[0][1])
        _LOGGER.info("metrics at http://%s:%d%s", host, bound, METRICS_PATH)
        yield bound
    finally:
        await runner.cleanup()
