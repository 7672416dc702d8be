"""What every handler of the gateway reaches through `request.app[GATEWAY]`."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from wamesh.db.pool import Pool
from wamesh.gateway.inbox import DevInbox
from wamesh.gateway.metrics import Metrics
from wamesh.gateway.routing import WorkerRouter
from wamesh.outbox import Kicker
from wamesh.registry import Registry
from wamesh.settings import Settings


@dataclass
class Gateway:
    """The gateway's long-lived resources."""

    settings: Settings
    pool: Pool
    redis: Redis
    registry: Registry
    router: WorkerRouter
    metrics: Metrics
    kicker: Kicker | None
    inbox: DevInbox | None = None


GATEWAY = web.AppKey("gateway", Gateway)


def gateway_of(request: web.Request) -> Gateway:
    """The gateway resources of the app serving `request`."""
    return request.app[GATEWAY]
