"""The media store as an app resource (`context.MEDIA`), and its purge running in the background.

`media_ctx` is a cleanup context: it puts the gateway's store into the app and purges expired
media once at start and then every MEDIA_PURGE_INTERVAL_S; the purge stops with the app. A purge
that fails (the database away for a moment) is logged and tried again at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from wamesh.constants import MEDIA_PURGE_INTERVAL_S
from wamesh.gateway.context import GATEWAY, MEDIA
from wamesh.media.store import MediaStore

_LOGGER = logging.getLogger(__name__)


async def media_ctx(app: web.Application) -> AsyncIterator[None]:
    """Provide `app[MEDIA]` and purge expired media until the app stops."""
    store = app[GATEWAY].media
    app[MEDIA] = store
    task = asyncio.create_task(purge_forever(store, MEDIA_PURGE_INTERVAL_S), name="media-purge")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def purge_forever(store: MediaStore, interval_s: float) -> None:
    """Purge now, then every `interval_s`."""
    while True:
        await purge_once(store)
        await asyncio.sleep(interval_s)


async def purge_once(store: MediaStore) -> int:
    """One purge, logged; a failure is logged and counts as none purged."""
    try:
        purged = await store.purge_expired()
    except Exception as exc:  # the next tick tries again; the gateway keeps serving
        _LOGGER.warning("media purge failed: %s: %s", type(exc).__name__, exc)
        return 0
    _LOGGER.info("purged %d expired media", purged, extra={"purged": purged})
    return purged
