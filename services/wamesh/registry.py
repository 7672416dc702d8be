"""Who serves which line: a lease per line in Redis, and the rules for taking one over.

Two workers driving one WhatsApp line is the failure this module exists to prevent (WhatsApp
sees two sessions of one device: conflicts, and a ban risk), so the rules are written here once.

The lease. `wamesh:worker:<session_id>` holds a JSON record (address, host, pid, a random owner
token); the exact bytes are the fencing token. A worker claims it with SET NX PX only after its
gRPC port listens, and releases it (delete-if-mine) before that port closes, so for the whole
time a live worker holds the lease its registered address accepts TCP connections. The holder
refreshes it every TTL/2 with a script that extends it only while it still holds the holder's
own record; a refresh that finds the key empty (Redis restarted empty, or the key expired while
Redis was unreachable) claims it again; one that finds another record reports the lease lost.

Who may take a line:
  1. anyone, when the key is absent (SET NX): never held, released, or expired after a TTL
     without refresh;
  2. a contender, at once, when the holder's registered address *refuses* TCP connections
     (ECONNREFUSED on every address it resolves to) and `WAMESH_LEASE_TAKEOVER` is on: the
     contender replaces the record it probed by compare-and-swap (one script: replace only if
     the key still holds exactly those bytes), so of any number of racing contenders exactly one
     wins and a record written meanwhile (a new holder's) is never replaced. A timeout, an
     unreachable host or a name that does not resolve proves nothing and never takes a line.
Rule 2 assumes that a refusal means no process listens there: the advertised address
(WAMESH_ADVERTISE_HOST) reaches the worker itself (its own host or container, not a proxy, load
balancer or Kubernetes Service address that may refuse on a live worker's behalf), nothing in
between forges refusals (a firewall REJECT rule), and no other process binds the port while the
holder lives (our gRPC servers set SO_REUSEPORT off). On one host a dead process's port refuses
at once. Across hosts, a partition gives timeouts or unreachable errors, never a refusal, so a
live but unreachable holder keeps its line until its lease expires. Turn rule 2 off where the
assumption does not hold; takeovers then wait for the TTL.

Fencing at the holder (`Lease`): every command a client sends is preceded by `confirm()`, one
round trip of the refresh script, so a command reaches the engine only right after Redis said
the key holds this worker's own record. While Redis cannot be reached the lease is *suspended*:
commands answer UNAVAILABLE `dependency_unavailable` (redis) at once, the engine keeps running
(inbound events, status and outbox rows go on in PostgreSQL), and the refresh is retried every
LEASE_RETRY_S. When Redis answers
again the lease is confirmed (still ours, or re-claimed because the key was gone) or, if another
record is there, `lost` is set and the worker stops its engine before doing anything else.

The window that remains: a holder cut off from Redis while others still reach it keeps its
engine connected; after a TTL a contender may claim the line, and both engines are connected
until the old holder reaches Redis again (it then stops within LEASE_RETRY_S) or WhatsApp itself
drops one of the two (a browser line disconnects on WhatsApp Web's conflict unless
WAMESH_BROWSER_TAKEOVER is on). Commands are not in that window: the old holder refuses them
from its first failed refresh. Likewise, when Redis restarts empty, a contender that claims
before the holder's next retry gets the line and the holder stops within LEASE_RETRY_S.
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

from wamesh.constants import (
    LEASE_CALL_TIMEOUT_S,
    LEASE_PROBE_TIMEOUT_S,
    LEASE_REFRESH_DIVISOR,
    LEASE_RETRY_S,
    WORKER_KEY,
)
from wamesh.dependencies import REDIS
from wamesh.errors import DependencyUnavailable, LeaseHeld, LeaseLost

_LOGGER = logging.getLogger(__name__)
CLAIM_ATTEMPTS = 3

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

# KEYS[1] = worker key, ARGV[1] = the record judged dead, ARGV[2] = ours, ARGV[3] = ttl ms.
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
REDIS_TROUBLE = (OSError, RedisError, TimeoutError)


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


def split_address(address: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def refuses_connections(address: str, timeout_s: float = LEASE_PROBE_TIMEOUT_S) -> bool:
    """True only when every address `address` resolves to refuses a TCP connection (nothing
    listens there); an accepted connection, a timeout or any other error gives False."""
    loop = asyncio.get_running_loop()
    try:
        host, port = split_address(address)
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return False
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setblocking(False)
            try:
                async with asyncio.timeout(timeout_s):
                    await loop.sock_connect(sock, sockaddr)
            except ConnectionRefusedError:
                continue
            except (OSError, TimeoutError):
                return False
            return False
    return bool(infos)


class Registry:
    """Lease operations on one Redis connection."""

    def __init__(self, redis: Redis, ttl_ms: int, *, take_over_refused: bool = True) -> None:
        self._redis = redis
        self._ttl_ms = ttl_ms
        self._take_over_refused = take_over_refused
        self._refresh = redis.register_script(_REFRESH)
        self._take_over = redis.register_script(_TAKE_OVER)
        self._release = redis.register_script(_RELEASE)

    @property
    def ttl_ms(self) -> int:
        """The lease duration."""
        return self._ttl_ms

    @property
    def redis(self) -> Redis:
        """The connection the leases use (pool mode's wake-ups share it)."""
        return self._redis

    async def holders(self, session_ids: list[str]) -> list[bytes | str | None]:
        """The raw records of several lines in one round trip (None: free)."""
        if not session_ids:
            return []
        keys = [WORKER_KEY.format(session_id=sid) for sid in session_ids]
        return list(await self._redis.mget(keys))

    async def claim(self, record: WorkerRecord) -> WorkerRecord | None:
        """Take the line's lease (rules 1 and 2 of the module docstring); return the dead holder
        it replaced, if any, or raise LeaseHeld naming the live one."""
        key = WORKER_KEY.format(session_id=record.session_id)
        holder: WorkerRecord | None = None
        for _ in range(CLAIM_ATTEMPTS):
            if await self._redis.set(key, record.encode(), nx=True, px=self._ttl_ms):
                return None
            raw = await self._redis.get(key)
            if raw is None:
                continue  # expired between the two calls
            holder = WorkerRecord.decode(raw)
            if not (self._take_over_refused and await refuses_connections(holder.address)):
                break
            if await self.take_over(raw, record):
                _LOGGER.warning(
                    "took over session %s from %s: its address refuses connections",
                    record.session_id,
                    holder.describe(),
                )
                return holder
        raise LeaseHeld(record.session_id, holder.describe() if holder else "another worker")

    async def take_over(self, dead: str | bytes, record: WorkerRecord) -> bool:
        """Replace the stored record `dead` (exact bytes) by ours; False when the key holds
        anything else by now."""
        key = WORKER_KEY.format(session_id=record.session_id)
        args = [dead, record.encode(), self._ttl_ms]
        return int(await self._take_over(keys=[key], args=args)) == 1

    async def refresh(self, record: WorkerRecord) -> bool:
        """Extend the lease (claiming it again if the key is gone); False when another worker
        holds it now."""
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
    """A held lease, refreshed in the background.

    `held` is set while the last refresh succeeded (cleared, with `suspended` set, while Redis
    cannot be reached); `lost` is set the moment Redis shows another worker's record. Losing
    contact with Redis never loses the lease by itself: only another record does.
    """

    def __init__(self, registry: Registry, record: WorkerRecord) -> None:
        self.registry = registry
        self.record = record
        self.held = asyncio.Event()
        self.suspended = asyncio.Event()
        self.lost = asyncio.Event()
        self.replaced: WorkerRecord | None = None
        self._suspended_at = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Claim (raising LeaseHeld) and start refreshing."""
        self.replaced = await self.registry.claim(self.record)
        self.held.set()
        self._task = asyncio.create_task(self._keep(), name="lease-refresh")

    async def stop(self, *, release: bool = True) -> None:
        """Stop refreshing and, unless told otherwise or lost, release the lease."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if release and not self.lost.is_set():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(LEASE_CALL_TIMEOUT_S):
                    await self.registry.release(self.record)

    async def confirm(self) -> None:
        """Before a command reaches the engine: Redis says the lease is ours right now.

        Raises LeaseLost when another worker holds it, Unavailable while Redis cannot be
        reached (at once, without waiting, while the lease is already suspended)."""
        if self.lost.is_set():
            raise self._lost()
        if not self.held.is_set() or not await self._beat():
            raise self._lost() if self.lost.is_set() else self._unavailable()

    def _lost(self) -> LeaseLost:
        return LeaseLost(f"session {self.record.session_id} is served by another worker now")

    def _unavailable(self) -> DependencyUnavailable:
        return DependencyUnavailable(
            REDIS, f"the worker cannot confirm its lease of session {self.record.session_id}"
        )

    async def _keep(self) -> None:
        interval = self.registry.ttl_ms / LEASE_REFRESH_DIVISOR / 1000
        while not self.lost.is_set():
            await asyncio.sleep(interval if self.held.is_set() else LEASE_RETRY_S)
            await self._beat()

    async def _beat(self) -> bool:
        """One refresh: True when confirmed; sets `suspended` or `lost` otherwise."""
        try:
            async with asyncio.timeout(LEASE_CALL_TIMEOUT_S):
                ours = await self.registry.refresh(self.record)
        except REDIS_TROUBLE as exc:
            self._suspend(exc)
            return False
        if not ours:
            _LOGGER.error("lost the lease of session %s", self.record.session_id)
            self.held.clear()
            self.lost.set()
            return False
        if self.suspended.is_set():
            _LOGGER.warning(
                "lease of session %s confirmed again after %.1f s without Redis",
                self.record.session_id,
                time.monotonic() - self._suspended_at,
            )
            self.suspended.clear()
        self.held.set()
        return True

    def _suspend(self, exc: BaseException) -> None:
        if self.suspended.is_set():
            return
        _LOGGER.warning(
            "lease of session %s cannot be refreshed (%s): commands refused until Redis answers",
            self.record.session_id,
            type(exc).__name__,
        )
        self._suspended_at = time.monotonic()
        self.held.clear()
        self.suspended.set()
