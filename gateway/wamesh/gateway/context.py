"""What every handler of the gateway reaches through `request.app[GATEWAY]`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from aiohttp import web
from redis.asyncio import Redis

from wamesh.db.pool import Pool
from wamesh.gateway.inbox import DevInbox
from wamesh.gateway.metrics import Metrics
from wamesh.gateway.routing import WorkerRouter
from wamesh.media.postgres import PostgresMediaStore
from wamesh.media.store import MediaStore
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

    @cached_property
    def media(self) -> MediaStore:
        """The lines' media (one store for both fronts; purged by `gateway.media.media_ctx`)."""
        retention = timedelta(hours=self.settings.media_retention_hours)
        return PostgresMediaStore(self.pool, retention)


GATEWAY = web.AppKey("gateway", Gateway)
MEDIA = web.AppKey("media", MediaStore)


def gateway_of(request: web.Request) -> Gateway:
    """The gateway resources of the app serving `request`."""
    return request.app[GATEWAY]


def media_of(request: web.Request) -> MediaStore:
    """The media store of the app serving `request`."""
    return request.app[MEDIA]
