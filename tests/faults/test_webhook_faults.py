"""Webhook delivery under faults, on real servers and a real `wamesh worker` process: kill -9 under
load, FLUSHALL, hanging endpoints beside a healthy line, a dead endpoint's queue. Each prints its
figures (lost, duplicates by `webhook-id`, recovery seconds, the healthy line's p99)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
import redis.asyncio

from tests.bench.common import percentile
from tests.webhooks import scenarios
from tests.webhooks.scenarios import running_endpoints
from wamesh.db.pool import open_pool
from wamesh.dev.servers import RedisServer

TIMEOUT_MS = 2_000
BACKLOG = 1_000


class TestWorkerKilled:
    """kill -9 of the webhook worker under load (one process, or the parent of two): nothing
    lost, and no delivery waits longer than WEBHOOK_TIMEOUT_MS + 5 s."""

    @pytest.mark.parametrize("processes", ["1", "2"])
    async def test_sigkill_under_load_loses_nothing_and_delays_stay_bounded(
        self, database_url: str, redis_url: str, tmp_path: Path, processes: str
    ) -> None:
        env = {"WEBHOOK_TIMEOUT_MS": str(TIMEOUT_MS), "WEBHOOK_PROCESSES": processes}
        async with running_endpoints() as ends, open_pool(database_url) as pool:
            line = scenarios.line(database_url, ends.url("ok"))
            first = scenarios.spawn_worker(database_url, redis_url, tmp_path / "w.log", **env)
            warm = await scenarios.steady_events(pool, redis_url, line, 10, 0.1)  # it is up
            await scenarios.wait_delivered(database_url, line, len(warm.committed), 30)
            members = children(first.proc.pid)
            assert len(members) == (int(processes) if processes != "1" else 0)
            load = asyncio.create_task(scenarios.steady_events(pool, redis_url, line, 50, 6))
            await asyncio.sleep(2.5)
            first.kill()
            killed_at = time.time()
            await _gone(members)  # the children die with their parent
            second = scenarios.spawn_worker(database_url, redis_url, tmp_path / "w.log", **env)
            steady = await load
            try:
                total = len(steady.committed) + len(warm.committed)
                await scenarios.wait_delivered(database_url, line, total, 30)
            finally:
                second.stop()
        _report_and_check(f"kill -9 under load, {processes} process(es)", steady, ends, killed_at)

    async def test_sigkill_of_one_of_two_processes_loses_nothing(
        self, database_url: str, redis_url: str, tmp_path: Path
    ) -> None:
        env = {"WEBHOOK_TIMEOUT_MS": str(TIMEOUT_MS), "WEBHOOK_PROCESSES": "2"}
        async with running_endpoints() as ends, open_pool(database_url) as pool:
            line = scenarios.line(database_url, ends.url("ok"))
            worker = scenarios.spawn_worker(database_url, redis_url, tmp_path / "w.log", **env)
            try:
                warm = await scenarios.steady_events(pool, redis_url, line, 10, 0.1)
                await scenarios.wait_delivered(database_url, line, len(warm.committed), 30)
                victim, survivor = children(worker.proc.pid)
                load = asyncio.create_task(scenarios.steady_events(pool, redis_url, line, 50, 6))
                await asyncio.sleep(2.5)
                os.kill(victim, signal.SIGKILL)
                killed_at = time.time()
                steady = await load
                total = len(steady.committed) + len(warm.committed)
                await scenarios.wait_delivered(database_url, line, total, 30)
                now = children(worker.proc.pid)
            finally:
                worker.stop()
        assert survivor in now  # the other process went on
        assert len(now) == 2  # and the parent started the killed one again
        assert worker.proc.returncode == 0  # SIGTERM stopped the parent and both children
        await _gone(now)
        _report_and_check("kill -9 of one of 2 processes", steady, ends, killed_at)


def children(pid: int) -> list[int]:
    """The child processes of `pid`."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(p) for p in task.read_text().split()]
    return found


async def _gone(pids: list[int]) -> None:
    async with asyncio.timeout(10):
        while not all(_zombie(p) for p in pids):
            await asyncio.sleep(0.05)


def _zombie(pid: int) -> bool:
    """Dead (exited, or a zombie not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _report_and_check(
    what: str, steady: scenarios.Steady, ends: scenarios.Endpoints, killed_at: float
) -> None:
    lost = steady.missing(ends)
    duplicates = sum(n - 1 for n in ends.seen.values())
    delays = steady.latencies(ends)
    recovery = max(ends.arrivals.values()) - killed_at
    print(
        f"\n{what}: {len(steady.committed)} events, lost {lost}, duplicates "
        f"{duplicates}, p99 delay {percentile(delays, 99):.2f} s, max {max(delays):.2f} s, "
        f"last arrival {recovery:.1f} s after the kill"
    )
    assert lost == 0
    assert percentile(delays, 99) <= TIMEOUT_MS / 1000 + 5


class TestFlushall:
    """FLUSHALL with deliveries kicked: every one arrives, within seconds."""

    async def test_flushall_under_load_loses_nothing(
        self, database_url: str, tmp_path: Path
    ) -> None:
        own = RedisServer(tmp_path / "redis", durable=False)
        await asyncio.to_thread(own.start)
        try:
            async with running_endpoints() as ends, open_pool(database_url) as pool:
                line = scenarios.line(database_url, ends.url("ok"))
                worker = scenarios.spawn_worker(database_url, own.url, tmp_path / "w.log")
                await asyncio.sleep(1.5)
                ids = await scenarios.add_rows(pool, line, 500)
                await scenarios.kick(own.url, ids)
                client = redis.asyncio.Redis.from_url(own.url)
                await client.flushall()
                flushed_at = time.time()
                await client.aclose()
                try:
                    await scenarios.wait_delivered(database_url, line, len(ids), 30)
                finally:
                    worker.stop()
            lost = sum(1 for i in ids if i not in ends.arrivals)
            duplicates = sum(n - 1 for n in ends.seen.values())
            recovery = max(ends.arrivals.values()) - flushed_at
            print(f"\nFLUSHALL: lost {lost}, duplicates {duplicates}, all in {recovery:.1f} s")
            assert lost == 0
        finally:
            await asyncio.to_thread(own.stop)


class TestFairness:
    """A busy line costs few row updates; hanging and dead endpoints neither starve a healthy
    line nor churn the database."""

    async def test_a_1000_row_backlog_costs_at_most_3_row_updates_a_delivery(
        self, database_url: str, redis_url: str, tmp_path: Path
    ) -> None:
        async with running_endpoints() as ends, open_pool(database_url) as pool:
            busy = scenarios.line(database_url, ends.url("ok"))
            ids = await scenarios.add_rows(pool, busy, BACKLOG)
            worker = scenarios.spawn_worker(database_url, redis_url, tmp_path / "w.log")
            try:
                await asyncio.sleep(1.5)
                before = scenarios.row_updates(database_url)[0]
                await scenarios.kick(redis_url, ids)
                seconds = await scenarios.wait_delivered(database_url, busy, BACKLOG, 120)
            finally:
                worker.stop()  # its backend's counters are reported when it exits
        updates = (scenarios.row_updates(database_url)[0] - before) / BACKLOG
        print(  # the rate is measured, not asserted (tests/bench/bench_webhooks.py compares it)
            f"\n{BACKLOG}-row backlog on one line, default settings: {BACKLOG / seconds:.0f} "
            f"deliveries/s, {updates:.2f} row updates per delivery"
        )
        assert sum(1 for i in ids if i in ends.arrivals) == BACKLOG
        assert updates <= 3

    async def test_25_hanging_endpoints_beside_a_healthy_line(
        self, database_url: str, redis_url: str, tmp_path: Path
    ) -> None:
        async with running_endpoints() as ends, open_pool(database_url) as pool:
            worker = scenarios.spawn_worker(database_url, redis_url, tmp_path / "w.log")
            try:
                await asyncio.sleep(1.5)
                alone = scenarios.line(database_url, ends.url("ok/alone"))
                baseline = await scenarios.steady_events(pool, redis_url, alone, 10, 4)
                stuck: list[str] = []
                for n in range(25):
                    hanging = scenarios.line(database_url, ends.url(f"hang/{n}"))
                    stuck += await scenarios.add_rows(pool, hanging, 10)
                await scenarios.kick(redis_url, stuck)
                healthy = scenarios.line(database_url, ends.url("ok/beside"))
                beside = await scenarios.steady_events(pool, redis_url, healthy, 10, 6)
                await asyncio.sleep(1)
                hanging_now = ends.hanging
            finally:
                worker.stop()
        p99_alone = percentile(baseline.latencies(ends), 99)
        p99_beside = percentile(beside.latencies(ends), 99)
        print(
            f"\n25 hanging endpoints: healthy line p99 {p99_beside * 1000:.0f} ms beside them, "
            f"{p99_alone * 1000:.0f} ms alone; {hanging_now} attempts hanging at once"
        )
        assert beside.missing(ends) == 0
        assert hanging_now <= 25  # one attempt per unproven endpoint, not a line's share
        assert p99_beside <= max(2 * p99_alone, 0.1)

    async def test_a_dead_endpoint_with_2000_rows_costs_few_row_updates(
        self, database_url: str, redis_url: str, tmp_path: Path
    ) -> None:
        async with running_endpoints() as ends, open_pool(database_url) as pool:
            dead = scenarios.line(database_url, ends.dead)
            ids = await scenarios.add_rows(pool, dead, 2000)
            worker = scenarios.spawn_worker(database_url, redis_url, tmp_path / "w.log")
            try:
                await asyncio.sleep(1.5)
                before = scenarios.row_updates(database_url)[0]
                started = time.perf_counter()
                await scenarios.kick(redis_url, ids)
                await asyncio.sleep(8)
            finally:
                worker.stop()  # its backend's counters are reported when it exits
        rate = (scenarios.row_updates(database_url)[0] - before) / (time.perf_counter() - started)
        print(f"\ndead endpoint, 2000 rows queued: {rate:.1f} row updates/s")
        assert rate < 50
