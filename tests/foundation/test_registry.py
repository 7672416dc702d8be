"""The Redis registry: one owner per line, leases that expire, refresh and release by owner only,
and takeover only of a holder whose address refuses connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator

import pytest
import redis.asyncio

from wamesh.constants import WORKER_KEY
from wamesh.errors import LeaseHeld, LeaseLost
from wamesh.registry import Lease, Registry, new_record, refuses_connections

LINE = "6f1d7a52-2a43-4c55-9a55-4d7a1b0d2c11"


@pytest.fixture
def registry(redis_client: redis.asyncio.Redis) -> Registry:
    return Registry(redis_client, ttl_ms=600)


@pytest.fixture
def listening() -> Iterator[Callable[[], str]]:
    """`listening()` is the address of a socket that accepts connections (a live worker's port)."""
    sockets: list[socket.socket] = []

    def make() -> str:
        sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        sockets.append(sock)
        return f"127.0.0.1:{sock.getsockname()[1]}"

    yield make
    for sock in sockets:
        sock.close()


def closed_address() -> str:
    """An address nothing listens on (a dead worker's port): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


class TestClaim:
    """A line has at most one owner."""

    async def test_claim_then_lookup_returns_the_record(self, registry: Registry) -> None:
        record = new_record(LINE, "127.0.0.1:5001")
        assert await registry.claim(record) is None
        assert await registry.lookup(LINE) == record

    async def test_second_claim_is_refused_naming_the_holder(
        self, registry: Registry, listening: Callable[[], str]
    ) -> None:
        first = new_record(LINE, listening())
        await registry.claim(first)
        with pytest.raises(LeaseHeld) as caught:
            await registry.claim(new_record(LINE, listening()))
        assert f"pid {first.pid}" in caught.value.message
        assert first.address in caught.value.message
        assert await registry.lookup(LINE) == first

    async def test_unrefreshed_claim_expires_after_its_ttl(self, registry: Registry) -> None:
        await registry.claim(new_record(LINE, "127.0.0.1:5001"))
        await asyncio.sleep(0.8)
        assert await registry.lookup(LINE) is None
        await registry.claim(new_record(LINE, "127.0.0.1:5002"))


class TestTakeOver:
    """A holder whose address refuses connections is dead: its line is taken at once, by
    compare-and-swap of the record probed; anything short of a refusal leaves the line alone."""

    async def test_a_holder_that_refuses_connections_is_replaced(
        self, registry: Registry, listening: Callable[[], str]
    ) -> None:
        dead = new_record(LINE, closed_address())
        await registry.claim(dead)
        mine = new_record(LINE, listening())
        assert await registry.claim(mine) == dead
        assert await registry.lookup(LINE) == mine

    async def test_takeover_switched_off_waits_for_the_ttl(
        self, redis_client: redis.asyncio.Redis, listening: Callable[[], str]
    ) -> None:
        registry = Registry(redis_client, ttl_ms=600, take_over_refused=False)
        await registry.claim(new_record(LINE, closed_address()))
        with pytest.raises(LeaseHeld):
            await registry.claim(new_record(LINE, listening()))

    async def test_a_holder_whose_name_does_not_resolve_is_not_replaced(
        self, registry: Registry, listening: Callable[[], str]
    ) -> None:
        unknown = new_record(LINE, "worker.invalid:5001")
        await registry.claim(unknown)
        with pytest.raises(LeaseHeld):
            await registry.claim(new_record(LINE, listening()))
        assert await registry.lookup(LINE) == unknown

    async def test_the_swap_replaces_only_the_record_probed(
        self, registry: Registry, redis_client: redis.asyncio.Redis, listening: Callable[[], str]
    ) -> None:
        """A record written after the probe (a newer holder) survives a stale takeover."""
        dead = new_record(LINE, closed_address())
        await registry.claim(dead)
        newer = new_record(LINE, listening())
        assert await registry.claim(newer) == dead
        assert not await registry.take_over(dead.encode(), new_record(LINE, listening()))
        assert await registry.lookup(LINE) == newer


class TestProbe:
    """Only a refusal counts as dead."""

    async def test_a_listening_port_is_alive(self, listening: Callable[[], str]) -> None:
        assert not await refuses_connections(listening())

    async def test_a_closed_port_refuses(self) -> None:
        assert await refuses_connections(closed_address())

    async def test_a_port_that_does_not_answer_in_time_is_not_dead(self) -> None:
        """A full accept queue drops the SYN, like a partition: a timeout, not a refusal."""
        with socket.create_server(("127.0.0.1", 0), backlog=0) as server:
            address = f"127.0.0.1:{server.getsockname()[1]}"
            fillers = []
            try:
                for _ in range(4):  # fill the queue (backlog 0 still admits one or two)
                    filler = socket.socket()
                    filler.setblocking(False)
                    filler.connect_ex(("127.0.0.1", server.getsockname()[1]))
                    fillers.append(filler)
                await asyncio.sleep(0.2)
                assert not await refuses_connections(address, timeout_s=0.3)
            finally:
                for filler in fillers:
                    filler.close()

    async def test_unparsable_or_unresolvable_addresses_are_not_dead(self) -> None:
        assert not await refuses_connections("no-port")
        assert not await refuses_connections("worker.invalid:5001")


class TestRefresh:
    """Refresh extends only the owner's lease."""

    async def test_refresh_extends_the_lease(
        self, registry: Registry, redis_client: redis.asyncio.Redis
    ) -> None:
        record = new_record(LINE, "127.0.0.1:5001")
        await registry.claim(record)
        await asyncio.sleep(0.4)
        assert await registry.refresh(record)
        assert await redis_client.pttl(WORKER_KEY.format(session_id=LINE)) > 400

    async def test_refresh_after_another_worker_took_the_line_fails(
        self, registry: Registry
    ) -> None:
        mine = new_record(LINE, "127.0.0.1:5001")
        await registry.claim(mine)
        await asyncio.sleep(0.8)
        theirs = new_record(LINE, "127.0.0.1:5002")
        await registry.claim(theirs)
        assert not await registry.refresh(mine)
        assert await registry.lookup(LINE) == theirs

    async def test_refresh_reclaims_after_redis_lost_the_key(
        self, registry: Registry, redis_client: redis.asyncio.Redis
    ) -> None:
        record = new_record(LINE, "127.0.0.1:5001")
        await registry.claim(record)
        await redis_client.flushdb()
        assert await registry.refresh(record)
        assert await registry.lookup(LINE) == record


class TestRelease:
    """Only the owner can release."""

    async def test_release_by_owner_frees_the_line(self, registry: Registry) -> None:
        record = new_record(LINE, "127.0.0.1:5001")
        await registry.claim(record)
        assert await registry.release(record)
        assert await registry.lookup(LINE) is None

    async def test_release_by_a_non_owner_does_nothing(self, registry: Registry) -> None:
        owner = new_record(LINE, "127.0.0.1:5001")
        await registry.claim(owner)
        assert not await registry.release(new_record(LINE, "127.0.0.1:5002"))
        assert await registry.lookup(LINE) == owner


class TestLease:
    """A held lease stays alive by itself and reports its loss at once."""

    async def test_lease_outlives_its_ttl_while_held(self, registry: Registry) -> None:
        lease = Lease(registry, new_record(LINE, "127.0.0.1:5001"))
        await lease.start()
        await asyncio.sleep(1.5)
        assert await registry.lookup(LINE) == lease.record
        assert not lease.lost.is_set()
        await lease.stop()
        assert await registry.lookup(LINE) is None

    async def test_owner_learns_when_the_lease_is_taken(
        self, registry: Registry, redis_client: redis.asyncio.Redis
    ) -> None:
        lease = Lease(registry, new_record(LINE, "127.0.0.1:5001"))
        await lease.start()
        usurper = new_record(LINE, "127.0.0.1:5002")
        await redis_client.set(WORKER_KEY.format(session_id=LINE), usurper.encode(), px=5000)
        await asyncio.wait_for(lease.lost.wait(), timeout=2)
        with pytest.raises(LeaseLost):
            await lease.confirm()
        await lease.stop()
        assert await registry.lookup(LINE) == usurper

    async def test_confirm_finds_a_usurper_at_once(
        self, registry: Registry, redis_client: redis.asyncio.Redis
    ) -> None:
        """A command checks Redis itself, not the last refresh: no wait for the next beat."""
        lease = Lease(Registry(redis_client, ttl_ms=60_000), new_record(LINE, "127.0.0.1:5001"))
        await lease.start()
        await lease.confirm()
        usurper = new_record(LINE, "127.0.0.1:5002")
        await redis_client.set(WORKER_KEY.format(session_id=LINE), usurper.encode(), px=5000)
        with pytest.raises(LeaseLost):
            await lease.confirm()
        assert lease.lost.is_set()
        await lease.stop()

    async def test_confirm_claims_again_a_key_redis_lost(
        self, registry: Registry, redis_client: redis.asyncio.Redis
    ) -> None:
        lease = Lease(registry, new_record(LINE, "127.0.0.1:5001"))
        await lease.start()
        await redis_client.flushdb()
        await lease.confirm()
        assert await registry.lookup(LINE) == lease.record
        await lease.stop()
