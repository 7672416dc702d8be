"""Who serves which line: a lease per line in Redis.

A worker claims `wamesh:worker:<session_id>` with SET NX PX, holding a JSON record with its
address, host, pid and a random owner token. It refreshes the lease with a script that checks the
stored record is still its own: if another worker holds the key, the refresh fails and the owner
learns at once that it must stop. If the key is simply gone (Redis restarted empty), the refresh
re-claims it, so workers re-register within one heartbeat (DESIGN.md §4). Release deletes the key
only for its owner. The gateway reads records with `lookup`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from wamesh.constants import LEASE_REFRESH_DIVISOR, WORKER_KEY
from wamesh.errors import LeaseHeld

_LOGGER = logging.getLogger(__name__)

# KEYS[1] = worker key, ARGV[1] = our record, ARGV[2] = ttl ms.
# Returns 1 when refreshed, 2 when re-claimed after the key vanished, 0 when someone else holds it.
_REFRESH = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class WorkerRecord:
    """What the registry says about the worker serving a line."""

    session_id: str
    address: str
    host: str
    pid: int
    token: str
    started_at: float

    def encode(self) -> str:
        """The stored form (compared byte for byte by the scripts)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str | bytes) -> WorkerRecord:
        """Parse a stored record."""
        return cls(**json.loads(raw))

    def describe(self) -> str:
        """`host pid N at address`, for messages."""
        return f"host {self.host} pid {self.pid} at {self.address}"


def new_record(session_id: str, address: str) -> WorkerRecord:
    """A record for this process."""
    return WorkerRecord(
        session_id=session_id,
        address=address,
        host=socket.gethostname(),
        pid=os.getpid(),
        token=secrets.token_hex(8),
        started_at=time.time(),
    )


class Registry:
    """Lease operations on one Redis connection."""

    def __init__(self, redis: Redis, ttl_ms: int) -> None:
        self._redis = redis
        self._ttl_ms = ttl_ms
        self._refresh = redis.register_script(_REFRESH)
        self._release = redis.register_script(_RELEASE)

    @property
    def ttl_ms(self) -> int:
        """The lease duration."""
        return self._ttl_ms

    async def claim(self, record: WorkerRecord) -> None:
        """Take the line's lease, or raise LeaseHeld naming the holder."""
        key = WORKER_KEY.format(session_id=record.session_id)
        if await self._redis.set(key, record.encode(), nx=True, px=self._ttl_ms):
            return
        holder = await self.lookup(record.session_id)
        raise LeaseHeld(record.session_id, holder.describe() if holder else "another worker")

    async def refresh(self, record: WorkerRecord) -> bool:
        """Extend the lease; False when another worker holds it now."""
        key = WORKER_KEY.format(session_id=record.session_id)
        result = await self._refresh(keys=[key], args=[record.encode(), self._ttl_ms])
        return int(result) != 0

    async def release(self, record: WorkerRecord) -> bool:
        """Drop the lease if it is still ours."""
        key = WORKER_KEY.format(session_id=record.session_id)
        return int(await self._release(keys=[key], args=[record.encode()])) == 1

    async def lookup(self, session_id: str) -> WorkerRecord | None:
        """The worker serving `session_id`, if any."""
        raw = await self._redis.get(WORKER_KEY.format(session_id=session_id))
        return WorkerRecord.decode(raw) if raw is not None else None


class Lease:
    """A held lease, refreshed in the background; `lost` is set the moment it is gone.

    Redis errors during a refresh are retried; if no refresh succeeds for a whole TTL, another
    worker may have claimed the line meanwhile, so the lease counts as lost.
    """

    def __init__(self, registry: Registry, record: WorkerRecord) -> None:
        self.registry = registry
        self.record = record
        self.lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Claim (raising LeaseHeld) and start refreshing."""
        await self.registry.claim(self.record)
        self._task = asyncio.create_task(self._keep(), name="lease-refresh")

    async def stop(self, *, release: bool = True) -> None:
        """Stop refreshing and, unless told otherwise or lost, release the lease."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if release and not self.lost.is_set():
            with contextlib.suppress(Exception):
                await self.registry.release(self.record)

    async def _keep(self) -> None:
        interval = self.registry.ttl_ms / LEASE_REFRESH_DIVISOR / 1000
        last_ok = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                held = await self.registry.refresh(self.record)
            except (OSError, RedisError) as exc:
                _LOGGER.warning("lease refresh failed: %s", type(exc).__name__)
                if time.monotonic() - last_ok < self.registry.ttl_ms / 1000:
                    continue
                held = False
            if not held:
                _LOGGER.error("lost the lease of session %s", self.record.session_id)
                self.lost.set()
                return
            last_ok = time.monotonic()
