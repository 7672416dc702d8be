"""The Redis registry: one owner per line, leases that expire, refresh and release by owner only."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio

from wamesh.constants import WORKER_KEY
from wamesh.errors import LeaseHeld
from wamesh.registry import Lease, Registry, new_record

LINE = "6f1d7a52-2a43-4c55-9a55-4d7a1b0d2c11"


@pytest.fixture
def registry(redis_client: redis.asyncio.Redis) -> Registry:
    return Registry(redis_client, ttl_ms=600)


class TestClaim:
    """A line has at most one owner."""

    async def test_claim_then_lookup_returns_the_record(self, registry: Registry) -> None:
        record = new_record(LINE, "127.0.0.1:5001")
        await registry.claim(record)
        assert await registry.lookup(LINE) == record

    async def test_second_claim_is_refused_naming_the_holder(self, registry: Registry) -> None:
        first = new_record(LINE, "127.0.0.1:5001")
        await registry.claim(first)
        with pytest.raises(LeaseHeld) as caught:
            await registry.claim(new_record(LINE, "127.0.0.1:5002"))
        assert f"pid {first.pid}" in caught.value.message
        assert "127.0.0.1:5001" in caught.value.message

    async def test_unrefreshed_claim_expires_after_its_ttl(self, registry: Registry) -> None:
        await registry.claim(new_record(LINE, "127.0.0.1:5001"))
        await asyncio.sleep(0.8)
        assert await registry.lookup(LINE) is None
        await registry.claim(new_record(LINE, "127.0.0.1:5002"))


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
        await lease.stop()
        assert await registry.lookup(LINE) == usurper
