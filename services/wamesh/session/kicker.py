"""The worker's link to the webhook queue (wired to wamesh.webhooks.producer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from wamesh.outbox import Kicker
from wamesh.settings import Settings


@asynccontextmanager
async def open_kicker(settings: Settings) -> AsyncIterator[Kicker | None]:
    """The producer that kicks committed outbox rows (None until the webhook queue exists)."""
    del settings
    yield None
