"""Route a call for a line to the worker that owns it.

The line's worker address comes from the Redis registry (cached for `cache_ttl_s`); one gRPC
channel is kept per worker address. Every call has a deadline and carries the mesh token and the
request id. When a worker is gone (UNAVAILABLE), the cached address is dropped and the call is
resolved again; it is retried only when `idempotent` (SendMessage always is: the gateway supplies a
client message id when the caller gave none). A line no worker serves raises SessionOffline with
the line's last status from PostgreSQL; an unknown line raises SessionNotFound. The registry
lookup waits at most DEPENDENCY_WAIT_S (Redis down raises DependencyUnavailable); a worker that
answers `dependency_unavailable` is not gone, and its answer is passed on.

`wake_reminders` is the gateway's side of the reminder wake-up (MeshService, not relayed to
clients): best effort, as the worker's poll is the safety net. `release` and `wake_pool` are pool
mode's (wamesh.placement): let a deleted or stopped line go, wake a pool worker for a line that
wants one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc
import grpc.aio
from redis.exceptions import RedisError

from wamesh.constants import MESH_TOKEN_METADATA, REQUEST_ID_METADATA
from wamesh.db.pool import Pool
from wamesh.dependencies import REDIS, bounded
from wamesh.errors import DependencyUnavailable, SessionOffline
from wamesh.lines import last_status
from wamesh.logs import request_id
from wamesh.placement import wake_pool
from wamesh.registry import Registry, WorkerRecord
from wamesh.rpc.errors import CODE_METADATA, from_rpc_error
from wamesh.v1 import mesh_pb2, mesh_pb2_grpc

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
Metadata = tuple[tuple[str, str], ...]
Invoke = Callable[[grpc.aio.Channel, Metadata, float], Awaitable[T]]
Outcome = Callable[[str, str], None]
WAKE_DEADLINE_S = 2.0


def _gone(exc: grpc.aio.AioRpcError) -> bool:
    """Whether the worker is gone or no longer serves the line (UNAVAILABLE), unlike a worker
    that answers that its own PostgreSQL or Redis is down (asking again changes nothing)."""
    if exc.code() != grpc.StatusCode.UNAVAILABLE:
        return False
    codes = (value for key, value in exc.trailing_metadata() or () if key == CODE_METADATA)
    return DependencyUnavailable.code not in codes


@dataclass
class _Cached:
    record: WorkerRecord | None
    until: float


class WorkerRouter:
    """Finds a line's worker and calls it."""

    def __init__(
        self,
        registry: Registry,
        pool: Pool,
        mesh_token: str | None,
        *,
        cache_ttl_s: float = 1.0,
        deadline_s: float = 15.0,
        on_outcome: Outcome | None = None,
    ) -> None:
        self._registry = registry
        self._pool = pool
        self._mesh_token = mesh_token
        self._cache_ttl_s = cache_ttl_s
        self.deadline_s = deadline_s
        self._cache: dict[str, _Cached] = {}
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._on_outcome = on_outcome or (lambda method, outcome: None)

    async def resolve(self, session_id: str) -> WorkerRecord | None:
        """The worker serving the line, from a short cache or the registry."""
        cached = self._cache.get(session_id)
        if cached is not None and cached.until > time.monotonic():
            return cached.record
        async with bounded(REDIS):
            record = await self._registry.lookup(session_id)
        self._cache[session_id] = _Cached(record, time.monotonic() + self._cache_ttl_s)
        return record

    async def workers(self, session_ids: Sequence[str]) -> list[WorkerRecord | None]:
        """The worker of each line, all None (unknown) when Redis cannot be reached in time:
        lines come from PostgreSQL and are shown without their workers meanwhile."""
        try:
            async with bounded(REDIS):
                return [await self.resolve(session_id) for session_id in session_ids]
        except DependencyUnavailable as exc:
            _LOGGER.warning("lines shown without their workers: %s", exc.message)
            return [None] * len(session_ids)

    def forget(self, session_id: str) -> None:
        """Drop the cached address (the worker went away or moved)."""
        self._cache.pop(session_id, None)

    def channel(self, address: str) -> grpc.aio.Channel:
        """The cached channel to a worker address."""
        channel = self._channels.get(address)
        if channel is None:
            channel = grpc.aio.insecure_channel(address, options=(("grpc.enable_retries", 0),))
            self._channels[address] = channel
        return channel

    def metadata(self) -> Metadata:
        """Mesh token and request id for a worker call."""
        items = [(REQUEST_ID_METADATA, request_id.get() or "")]
        if self._mesh_token:
            items.append((MESH_TOKEN_METADATA, self._mesh_token))
        return tuple(items)

    async def offline(self, session_id: str) -> SessionOffline:
        """SessionOffline with the last status (SessionNotFound propagates for unknown lines)."""
        return SessionOffline(session_id, await last_status(self._pool, session_id))

    async def call(self, session_id: str, method: str, invoke: Invoke[T], *, idempotent: bool) -> T:
        """Run `invoke` against the line's worker; see the module docstring for the rules."""
        attempts = 3 if idempotent else 1
        for attempt in range(attempts):
            record = await self.resolve(session_id)
            if record is None:
                self._on_outcome(method, "offline")
                raise await self.offline(session_id)
            try:
                result = await invoke(
                    self.channel(record.address), self.metadata(), self.deadline_s
                )
            except grpc.aio.AioRpcError as exc:
                if _gone(exc):
                    self.forget(session_id)
                    if attempt + 1 < attempts:
                        await asyncio.sleep(0.05 * (attempt + 1))
                        continue
                    self._on_outcome(method, "unavailable")
                    raise await self.offline(session_id) from exc
                self._on_outcome(method, "error")
                raise from_rpc_error(exc, session_id) from exc
            self._on_outcome(method, "ok")
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def stream(
        self,
        session_id: str,
        method: str,
        open_stream: Callable[[grpc.aio.Channel, Metadata], AsyncIterator[T]],
    ) -> AsyncIterator[T]:
        """Relay a server stream; it ends cleanly when the worker goes away."""
        record = await self.resolve(session_id)
        if record is None:
            self._on_outcome(method, "offline")
            raise await self.offline(session_id)
        self._on_outcome(method, "ok")
        try:
            async for item in open_stream(self.channel(record.address), self.metadata()):
                yield item
        except grpc.aio.AioRpcError as exc:
            if _gone(exc) or exc.code() == grpc.StatusCode.CANCELLED:
                self.forget(session_id)
                _LOGGER.info("stream of %s ended: worker went away", session_id)
                return
            raise from_rpc_error(exc, session_id) from exc

    async def wake_reminders(self, session_id: str) -> None:
        """Ask the line's worker, if one serves it, to look for due reminders now."""
        try:
            record = await self.resolve(session_id)
            if record is None:
                return
            stub = mesh_pb2_grpc.MeshServiceStub(self.channel(record.address))
            await stub.WakeReminders(
                mesh_pb2.WakeRemindersRequest(session_id=session_id),
                metadata=self.metadata(),
                timeout=WAKE_DEADLINE_S,
            )
        except (grpc.aio.AioRpcError, RedisError, OSError) as exc:
            self.forget(session_id)
            _LOGGER.info("could not wake the reminders of %s: %s", session_id, type(exc).__name__)

    async def release(self, session_id: str, *, deleted: bool = False) -> None:
        """Tell the line's worker, if one serves it, to let the line go (deleted or stopped);
        best effort: a worker re-reads its row every WAMESH_POOL_POLL_MS."""
        try:
            record = await self.resolve(session_id)
            if record is None:
                return
            stub = mesh_pb2_grpc.MeshServiceStub(self.channel(record.address))
            await stub.Release(
                mesh_pb2.ReleaseRequest(session_id=session_id, deleted=deleted),
                metadata=self.metadata(),
                timeout=WAKE_DEADLINE_S,
            )
        except (grpc.aio.AioRpcError, RedisError, OSError, DependencyUnavailable) as exc:
            _LOGGER.info("could not release %s: %s", session_id, type(exc).__name__)
        finally:
            self.forget(session_id)

    async def wake_pool(self) -> None:
        """Wake an idle pool worker: a line now wants one (best effort, their poll backs it)."""
        try:
            async with bounded(REDIS):
                await wake_pool(self._registry.redis)
        except (RedisError, OSError, DependencyUnavailable) as exc:
            _LOGGER.info("could not wake the pool: %s", type(exc).__name__)

    async def close(self) -> None:
        """Close every channel."""
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()
