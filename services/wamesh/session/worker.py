"""A session worker: one line, its lease, its gRPC server, and the order things stop in.

Start: load the line's row (unknown id -> SessionNotFound), derive the auth key (ConfigError when
WAMESH_AUTH_KEY is missing outside dev mode), start gRPC (port 0 picks one), claim the lease
with the advertised address (LeaseHeld names the holder), start the line.

Stop, on SIGTERM/SIGINT, in this order:
  1. health NOT_SERVING (the gateway and probes stop sending work), reminder runner stopped,
  2. save auth state and stop the engine, then write status `stopped`,
  3. release the lease,
  4. stop gRPC with a grace period (in-flight calls finish), exit 0.
A lost lease stops the engine at once and exits non-zero without writing the line's status (the
line belongs to another worker now). A deleted line exits non-zero.

While Redis cannot be reached the lease is suspended (wamesh.registry): the engine keeps running
and keeps writing status and outbox rows to PostgreSQL, but health says NOT_SERVING, the
reminder runner pauses and fenced commands answer UNAVAILABLE (wamesh.session.fence); all three
come back as soon as the lease is confirmed again. Only another worker's record stops the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc.aio
from redis.asyncio import Redis

from wamesh.authstate import AuthStore, key_from_settings
from wamesh.constants import MESH_TOKEN_METADATA
from wamesh.db.pool import Pool
from wamesh.engines.factory import create_engine
from wamesh.engines.sandbox import SentLog
from wamesh.errors import SessionNotFound
from wamesh.logs import line_id
from wamesh.media.postgres import PostgresMediaStore
from wamesh.outbox import Kicker
from wamesh.registry import Lease, Registry, new_record
from wamesh.reminders.runner import ReminderRunner
from wamesh.rpc.auth import Metadata, TokenInterceptor, metadata_value, tokens_match
from wamesh.rpc.server import RunningServer, serve
from wamesh.session.advertise import advertised_host
from wamesh.session.fence import LeaseFence
from wamesh.session.hub import Hub
from wamesh.session.line import Line
from wamesh.session.mesh_servicer import MeshServicer
from wamesh.session.messaging import LineMedia
from wamesh.session.sandbox_servicer import SandboxServicer
from wamesh.session.servicer import SessionServicer
from wamesh.session.store import LineStore
from wamesh.settings import Settings
from wamesh.v1 import mesh_pb2, mesh_pb2_grpc, session_pb2, session_pb2_grpc

_LOGGER = logging.getLogger(__name__)
GRPC_GRACE_S = 5.0
EXIT_OK = 0
EXIT_LEASE_LOST = 3
EXIT_DELETED = 4
EXIT_RELEASED = 0  # the gateway let the line go (MeshService.Release): deleted or stopped


@dataclass
class RunningWorker:
    """A started worker: its line, lease, server and reminder runner."""

    line: Line
    lease: Lease
    server: RunningServer
    address: str
    reminders: ReminderRunner
    keep_status: bool = False  # stop without writing `stopped` (pool mode: a logged-out line)
    metrics_port: int | None = None  # WAMESH_METRICS_PORT's bound port, when it is on


def _mesh_interceptors(settings: Settings) -> Sequence[grpc.aio.ServerInterceptor]:
    token = settings.mesh_token
    if not token:
        return ()

    def check(metadata: Metadata) -> bool:
        return tokens_match(metadata_value(metadata, MESH_TOKEN_METADATA), token)

    return (TokenInterceptor(check, "mesh token (WAMESH_MESH_TOKEN)"),)


async def _follow_lease(worker: RunningWorker) -> None:
    """While the lease is suspended: NOT_SERVING and no reminders; both back once confirmed."""
    lease = worker.lease
    while True:
        await lease.suspended.wait()
        await worker.server.set_serving(False)
        await worker.reminders.stop()
        await lease.held.wait()
        await worker.server.set_serving(True)
        await worker.reminders.start()


@asynccontextmanager
async def running_worker(
    settings: Settings, session_id: str, pool: Pool, redis: Redis, kicker: Kicker | None = None
) -> AsyncIterator[RunningWorker]:
    """Start the worker of `session_id`; on exit stop it in the documented order."""
    logged_as = line_id.set(session_id)
    try:
        async with _running_worker(settings, session_id, pool, redis, kicker) as running:
            yield running
    finally:
        line_id.reset(logged_as)


async def _metrics_port(stack: AsyncExitStack, settings: Settings, line: Line) -> int | None:
    """Serve the worker's metrics when WAMESH_METRICS_PORT asks (imported only then)."""
    if settings.metrics_port < 0:
        return None
    from wamesh.session.metrics import serving_line_metrics

    return await stack.enter_async_context(serving_line_metrics(settings, line))


@asynccontextmanager
async def _running_worker(
    settings: Settings, session_id: str, pool: Pool, redis: Redis, kicker: Kicker | None
) -> AsyncIterator[RunningWorker]:
    store = LineStore(pool, session_id)
    row = await store.load()
    auth = AuthStore(pool, key_from_settings(settings), session_id)
    line = Line(
        session_id,
        lambda: create_engine(row.engine, session_id, settings),
        store,
        auth,
        Hub(),
        kicker,
        line_media(settings, pool),
        batch_max=settings.event_batch_max,
    )
    reminders = ReminderRunner(settings, pool, line)
    started_at = datetime.now(UTC)
    sent_log = (
        SentLog.of(Path(settings.sandbox_dir), session_id) if row.engine == "sandbox" else None
    )

    def register(server: grpc.aio.Server, port: int) -> list[str]:
        address = f"{host}:{port}"
        session_pb2_grpc.add_SessionServiceServicer_to_server(
            SessionServicer(line, address, row.engine, started_at), server
        )
        session_pb2_grpc.add_SandboxServiceServicer_to_server(
            SandboxServicer(line, sent_log), server
        )
        mesh_pb2_grpc.add_MeshServiceServicer_to_server(MeshServicer(line, reminders), server)
        return [
            d.full_name
            for module in (session_pb2, mesh_pb2)
            for d in module.DESCRIPTOR.services_by_name.values()
        ]

    fence = LeaseFence()
    host = advertised_host(settings)
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            serve(
                settings.grpc_bind_host,
                settings.worker_grpc_port,
                register,
                interceptors=(*_mesh_interceptors(settings), fence),
                grace_s=GRPC_GRACE_S,
            )
        )
        metrics_port = await _metrics_port(stack, settings, line)
        # Claimed only now that the port listens (the takeover rule in wamesh.registry).
        address = f"{host}:{server.port}"
        registry = Registry(redis, settings.lease_ttl_ms, take_over_refused=settings.lease_takeover)
        lease = Lease(registry, new_record(session_id, address))
        await lease.start()
        fence.lease = lease
        running = RunningWorker(line, lease, server, address, reminders, metrics_port=metrics_port)
        follower: asyncio.Task[None] | None = None
        try:
            await line.start()
            await running.reminders.start()
            follower = asyncio.create_task(_follow_lease(running), name="lease-follow")
            _LOGGER.info("serving session %s at %s", session_id, running.address)
            yield running
        finally:
            if follower is not None:
                follower.cancel()
            await _shutdown(running)


def line_media(settings: Settings, pool: Pool) -> LineMedia:
    """The line's MediaStore (PostgreSQL, on the worker's pool) and its download policy."""
    retention = timedelta(hours=settings.media_retention_hours)
    return LineMedia(
        PostgresMediaStore(pool, retention),
        settings.media_max_bytes,
        frozenset(settings.media_auto_download),
    )


async def _shutdown(worker: RunningWorker) -> None:
    """Stop in the documented order (gRPC itself stops when the server context exits)."""
    await worker.server.set_serving(False)
    await worker.reminders.stop()
    if worker.lease.lost.is_set():
        await worker.line.abort()
    elif worker.line.deleted.is_set() or worker.keep_status:
        await worker.line.stop(write_status=False)
    elif worker.line.released.is_set():
        with contextlib.suppress(SessionNotFound):  # released because it was deleted
            await worker.line.stop()
    else:
        await worker.line.stop()
    await worker.lease.stop(release=True)
    worker.line.hub.close()


async def wait_for_exit(worker: RunningWorker, stop: asyncio.Event) -> int:
    """Wait for a stop request, a lost lease or a deleted line; return the exit code."""
    waits = {
        asyncio.create_task(stop.wait()): EXIT_OK,
        asyncio.create_task(worker.lease.lost.wait()): EXIT_LEASE_LOST,
        asyncio.create_task(worker.line.deleted.wait()): EXIT_DELETED,
        asyncio.create_task(worker.line.released.wait()): EXIT_RELEASED,
    }
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return max(waits[task] for task in done)
