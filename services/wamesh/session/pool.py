"""Pool mode (`wamesh session --pool`): serve whichever line wants a worker and has none.

A pool worker serves one line at a time, exactly as `--id` does (`running_worker`: the same
lease, the same start and stop order). Between lines it is idle: its gRPC port answers health
(SERVING: ready to take a line) and nothing else, and it blocks on the pool's wake list in Redis
(wamesh.placement) with WAMESH_POOL_POLL_MS as the safety net. To pick a line it reads the lines
that want a worker, longest waiting first, drops those whose lease is held (one MGET), and claims
the first it can (SET NX: of two pool workers racing for one line exactly one wins; the other
tries the next). A held line is taken at once only under the registry's quick-takeover rule
(its holder's address refuses connections), otherwise when its lease expires.

It lets the line go, and looks for another, when the line is deleted or stopped (the gateway's
MeshService.Release, or the row re-read every WAMESH_POOL_POLL_MS), logged out (its desired
state becomes `stopped`: a person must start it again to pair it), or its lease is lost. On
SIGTERM it stops the line in the documented order, releases the lease and wakes another pool
worker for the line, then exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import Error as PgError
from redis.asyncio import Redis

from wamesh.constants import DESIRED_STARTED, DESIRED_STOPPED
from wamesh.db.pool import Pool
from wamesh.errors import DependencyUnavailable, LeaseHeld, SessionNotFound, WameshError
from wamesh.outbox import Kicker
from wamesh.placement import desired_state, stop_logged_out, wait_for_wake, wake_pool, wanting_lines
from wamesh.registry import REDIS_TROUBLE, Registry, WorkerRecord, refuses_connections
from wamesh.rpc.server import serve
from wamesh.session.worker import RunningWorker, running_worker
from wamesh.settings import Settings

_LOGGER = logging.getLogger(__name__)
ERROR_PAUSE_S = 1.0  # after a scan that failed (PostgreSQL or Redis away)


@asynccontextmanager
async def idle_server(settings: Settings) -> AsyncIterator[None]:
    """The worker's port while it serves no line: health only, SERVING."""
    async with serve(
        settings.grpc_bind_host, settings.worker_grpc_port, lambda server, port: [], grace_s=0
    ):
        yield


async def next_lines(settings: Settings, pool: Pool, registry: Registry) -> list[str]:
    """Lines to try, in order: free ones longest waiting first, then held ones whose holder's
    address refuses connections (the quick-takeover rule, when it is on)."""
    candidates = await wanting_lines(pool)
    holders = await registry.holders(candidates)
    free = [sid for sid, raw in zip(candidates, holders, strict=True) if raw is None]
    if free or not settings.lease_takeover:
        return free
    held = [(sid, raw) for sid, raw in zip(candidates, holders, strict=True) if raw is not None]
    probes = [refuses_connections(WorkerRecord.decode(raw).address) for _, raw in held]
    refused = await asyncio.gather(*probes)
    return [sid for (sid, _), dead in zip(held, refused, strict=True) if dead]


async def _until(
    stop: asyncio.Event, work: asyncio.Future[bool] | None, limit_s: float | None
) -> None:
    """Wait for `stop`, `work` or `limit_s` (None: no limit), whichever comes first."""
    stopped: asyncio.Future[bool] = asyncio.ensure_future(stop.wait())
    waits: set[asyncio.Future[bool]] = {stopped}
    if work is not None:
        waits.add(work)
    await asyncio.wait(waits, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()


async def find_line(
    settings: Settings, pool: Pool, registry: Registry, stop: asyncio.Event
) -> list[str]:
    """Block (idle) until some line wants a worker and looks free; [] once `stop` is set."""
    poll_s = settings.pool_poll_ms / 1000
    while not stop.is_set():
        try:
            found = await next_lines(settings, pool, registry)
        except (*REDIS_TROUBLE, PgError, WameshError) as exc:
            _LOGGER.warning("pool: cannot look for a line (%s); retrying", type(exc).__name__)
            await _until(stop, None, ERROR_PAUSE_S)
            continue
        if found:
            return found
        wake = asyncio.ensure_future(wait_for_wake(registry.redis, poll_s))
        # No limit of our own: BLPOP ends by its own timeout (or the client's socket timeout),
        # and cancelling it mid-command would drop and reopen the worker's one Redis connection.
        await _until(stop, wake, None)
        if not wake.done():
            wake.cancel()
        with contextlib.suppress(asyncio.CancelledError, *REDIS_TROUBLE):
            await wake
    return []


async def watch_row(settings: Settings, pool: Pool, worker: RunningWorker) -> None:
    """The safety net behind MeshService.Release: re-read the line's row now and then."""
    line = worker.line
    while True:
        await asyncio.sleep(settings.pool_poll_ms / 1000)
        try:
            state = await desired_state(pool, line.session_id)
        except (PgError, WameshError):
            continue
        if state is None:
            line.deleted.set()
        elif state == DESIRED_STOPPED:
            line.released.set()


async def watch_logout(pool: Pool, worker: RunningWorker) -> None:
    """A logged-out line stops wanting a worker: pairing it again needs a person to start it."""
    line = worker.line
    while line.status != "logged_out":
        with contextlib.suppress(TimeoutError):
            await line.wait_for({"logged_out"}, limit_s=3600)
    worker.keep_status = True
    with contextlib.suppress(PgError, WameshError):  # the row check sees a status it keeps
        await stop_logged_out(pool, line.session_id)
    line.released.set()


async def serve_line(
    settings: Settings, pool: Pool, worker: RunningWorker, stop: asyncio.Event
) -> bool:
    """Serve until the line is let go (False) or the worker is told to stop (True)."""
    line = worker.line
    ends = [
        asyncio.ensure_future(stop.wait()),
        asyncio.ensure_future(worker.lease.lost.wait()),
        asyncio.ensure_future(line.deleted.wait()),
        asyncio.ensure_future(line.released.wait()),
        asyncio.ensure_future(watch_row(settings, pool, worker)),
        asyncio.ensure_future(watch_logout(pool, worker)),
    ]
    try:
        await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in ends:
            task.cancel()
    return stop.is_set()


async def _still_wanted(pool: Pool, session_id: str) -> bool:
    with contextlib.suppress(PgError, WameshError):
        return await desired_state(pool, session_id) == DESIRED_STARTED
    return False


async def run_pool(
    settings: Settings, pool: Pool, redis: Redis, kicker: Kicker | None, stop: asyncio.Event
) -> int:
    """Serve lines one after another until `stop`; exit code 0."""
    registry = Registry(redis, settings.lease_ttl_ms, take_over_refused=settings.lease_takeover)
    while not stop.is_set():
        async with idle_server(settings):
            candidates = await find_line(settings, pool, registry, stop)
        for session_id in candidates:
            if stop.is_set():
                break
            try:
                async with running_worker(settings, session_id, pool, redis, kicker) as worker:
                    _LOGGER.info("pool: serving session %s", session_id)
                    stopping = await serve_line(settings, pool, worker, stop)
            except (LeaseHeld, SessionNotFound) as exc:
                _LOGGER.info("pool: session %s not taken (%s)", session_id, exc.code)
                continue
            except DependencyUnavailable as exc:
                _LOGGER.warning("pool: session %s not started: %s", session_id, exc.message)
                await _until(stop, None, ERROR_PAUSE_S)
                break
            _LOGGER.info("pool: let session %s go", session_id)
            if stopping and await _still_wanted(pool, session_id):
                with contextlib.suppress(*REDIS_TROUBLE):
                    await wake_pool(redis)
            break
    return 0
