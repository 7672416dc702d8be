"""The connection budget (README, "Budgets") holds: a session worker holds 1 PostgreSQL connection
idle, 2 at most under load and gives the second back within seconds; 1 Redis connection; the
gateway stays within its stated pools. When PostgreSQL has no connection left, the error says so
and a worker waits and recovers."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable, Iterator

import aiohttp
import psycopg
import pytest

from tests.gateway.conftest import Api, gateway_settings, scan
from tests.support.connections import pg_connections, redis_connections
from tests.support.infra import Infra
from tests.support.session_fixtures import SpawnWorker, Stubs
from tests.support.supabase import OWNER, admin_of, as_role, grant_app_role
from wamesh.db.pool import Pool, open_pool
from wamesh.errors import Unavailable
from wamesh.gateway.app import running_gateway
from wamesh.v1 import common_pb2, session_pb2

_roles = itertools.count(1)


async def _ready(stubs: Stubs, line: str) -> None:
    async with asyncio.timeout(20):
        while True:
            status = (
                await stubs.session.GetStatus(session_pb2.GetStatusRequest(session_id=line))
            ).status
            if status == common_pb2.SESSION_STATUS_READY:
                return
            if status == common_pb2.SESSION_STATUS_QR:
                await stubs.sandbox.Scan(session_pb2.ScanRequest(session_id=line))
            await asyncio.sleep(0.05)


async def _load(stubs: Stubs, line: str, count: int) -> None:
    async def one(n: int) -> None:
        await stubs.session.SendMessage(
            session_pb2.SendMessageRequest(session_id=line, to="15550001111", text=f"m{n}")
        )
        inbound = session_pb2.InjectInboundRequest(session_id=line, text=f"i{n}")
        setattr(inbound, "from", "15550002222")  # `from` is a Python keyword
        await stubs.sandbox.InjectInbound(inbound)

    await asyncio.gather(*(one(n) for n in range(count)))


class Peak:
    """Samples a counter in the background and keeps the highest value."""

    def __init__(self, sample: Callable[[], int]) -> None:
        self._sample = sample
        self.highest = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Peak:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.highest = max(self.highest, await asyncio.to_thread(self._sample))

    async def _run(self) -> None:
        while True:
            self.highest = max(self.highest, await asyncio.to_thread(self._sample))
            await asyncio.sleep(0.02)


class TestSessionWorkerBudget:
    """1 PostgreSQL connection idle, at most 2 under load, back to 1 within seconds; 1 Redis."""

    async def test_idle_busy_and_back(
        self,
        database_url: str,
        redis_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line()
        stubs = connect(spawn(line, WAMESH_DB_IDLE_S="1").wait_registered())
        await _ready(stubs, line)
        name = f"wamesh-session-{line[:8]}"
        await asyncio.sleep(3)
        assert pg_connections(database_url, name) == 1
        assert redis_connections(redis_url, name) == 1
        async with (
            Peak(lambda: pg_connections(database_url, name)) as pg_peak,
            Peak(lambda: redis_connections(redis_url, name)) as redis_peak,
        ):
            await _load(stubs, line, 200)
        assert pg_peak.highest == 2, "the load never needed a second connection: no test"
        assert redis_peak.highest == 1
        async with asyncio.timeout(6):
            while pg_connections(database_url, name) > 1:
                await asyncio.sleep(0.2)


class TestGatewayBudget:
    """The gateway's pools are the settings' sizes, however many calls arrive at once."""

    async def test_bounded_under_load(
        self, database_url: str, redis_url: str, spawn: SpawnWorker
    ) -> None:
        settings = gateway_settings(
            database_url, redis_url, WAMESH_DB_POOL_GATEWAY="3", WAMESH_REDIS_POOL="2"
        )
        async with running_gateway(settings) as gw, aiohttp.ClientSession() as http:
            api = Api(http, f"http://127.0.0.1:{gw.http_port}")
            _, created = await api.call("POST", "/v1/sessions", {"name": "busy"})
            line = str(created["session"]["id"])
            spawn(line).wait_registered()
            await scan(api, line)
            calls = [api.call("GET", f"/v1/sessions/{line}") for _ in range(100)]
            calls += [
                api.call(
                    "POST", f"/v1/sessions/{line}/messages", {"to": "15550001111", "text": "x"}
                )
                for _ in range(50)
            ]
            async with (
                Peak(lambda: pg_connections(database_url, "wamesh-gateway")) as pg_peak,
                Peak(lambda: redis_connections(redis_url, "wamesh-gateway")) as redis_peak,
            ):
                answers = await asyncio.gather(*calls)
        assert {status for status, _ in answers} <= {200, 201}
        assert 1 <= pg_peak.highest <= 3
        assert 1 <= redis_peak.highest <= 2


@pytest.fixture
def limited_url(database_url: str, infra: Infra) -> Iterator[tuple[str, str]]:
    """A login role that may hold no connection at all yet, and its URL (plus the admin's)."""
    role = f"wamesh_limited_{os.getpid()}_{next(_roles)}"
    admin = admin_of(database_url, infra.pg_admin_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN BYPASSRLS CONNECTION LIMIT 0")
    grant_app_role(as_role(database_url, OWNER), role)
    url = as_role(database_url, role)
    try:
        yield url, role
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (role,),
            )
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


class TestRunningOut:
    """No connection left: named as such, with the settings to change; workers wait, then work."""

    async def test_the_error_names_the_cause_and_the_settings(
        self, limited_url: tuple[str, str]
    ) -> None:
        url, _ = limited_url
        with pytest.raises(Unavailable) as refused:
            async with open_pool(url, connect_timeout=2):
                pass
        assert "too many connections" in refused.value.message
        assert "WAMESH_DB_POOL_GATEWAY" in refused.value.message
        assert "check DATABASE_URL" not in refused.value.message

    async def test_a_worker_waits_calmly_and_recovers_within_its_budget(
        self,
        database_url: str,
        infra: Infra,
        limited_url: tuple[str, str],
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        url, role = limited_url
        line = make_line()
        worker = spawn(line, DATABASE_URL=url)
        await asyncio.sleep(6)
        assert worker.proc.poll() is None, worker.output()
        said = worker.output().count("too many connections")
        assert 1 <= said <= 4, worker.output()
        with psycopg.connect(admin_of(database_url, infra.pg_admin_url), autocommit=True) as conn:
            conn.execute(f"ALTER ROLE {role} CONNECTION LIMIT 2")  # exactly the worker's budget
        started = time.monotonic()
        stubs = connect(worker.wait_registered(timeout=40))
        print(f"\nrecovered {time.monotonic() - started:.1f} s after connections were free")
        await _ready(stubs, line)
        await _load(stubs, line, 50)
        assert "Traceback" not in worker.output()


async def _hold_two(pool: Pool) -> None:
    """Two connections at once: the pool grows past its idle minimum."""
    async with pool.connection() as first, pool.connection() as second:
        await first.execute("SELECT 1")
        await second.execute("SELECT 1")


async def _until(done: Callable[[], bool], seconds: float) -> float:
    started = time.monotonic()
    async with asyncio.timeout(seconds):
        while not done():
            await asyncio.sleep(0.05)
    return time.monotonic() - started


class TestIdleCheckRests:
    """psycopg_pool's idle check runs only while there is a connection above the minimum to give
    back: an idle pool schedules nothing (no wake-up every WAMESH_DB_IDLE_S), a grown one still
    gives its extra connection back within seconds, every time it grows."""

    async def test_nothing_scheduled_while_idle_and_the_extra_goes_back_each_time(
        self, database_url: str
    ) -> None:
        async with open_pool(database_url, min_size=1, max_size=2, max_idle_s=1.0) as pool:
            await _until(lambda: not pool._sched._queue, 3)  # resting from the start
            for _ in range(2):
                await _hold_two(pool)
                assert pool.get_stats()["pool_size"] == 2
                assert pool._sched._queue, "the idle check did not start again when the pool grew"
                back = await _until(lambda: pool.get_stats()["pool_size"] == 1, 6)
                print(f"\nthe extra connection went back {back:.1f} s after it was last used")
                await _until(lambda: not pool._sched._queue, 3)
