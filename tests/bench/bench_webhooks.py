"""Webhook delivery throughput and latency against a plain aiohttp POST loop, in one run.

Throughput: N committed outbox rows spread over LINES lines (each its own URL) are kicked at once
and delivered by `wamesh worker` with its default settings (concurrency 100, 5 per line, its
default process count) to a loopback receiver process; the baseline is a plain aiohttp loop
POSTing N signed-size bodies to the same receiver with the same concurrency; ROUNDS of each,
interleaved, and their medians compared. Latency: events are committed one at a time at a steady
rate and timed from commit to arrival at the receiver. Latency and CPU at steady rates over 100
lines: `bench_webhook_load`.

Fairness (`BENCH_WEBHOOKS=fairness`, or `all`): with default settings, a 1,000-row backlog on one
line (rate, row updates per delivery), 25 hanging endpoints beside a healthy line at 10/s (the
healthy line's p99 against the same line alone) and 2,000 rows for a dead endpoint (row updates
per second), on this checkout; the healthy line alone is the same-run baseline of the hanging
case. `BENCH_BASELINE_REV=<rev>` adds a column for that revision's `services/` run in the same
run: only a revision whose code works on this checkout's schema can (the code before fair claims,
489816e, wrote to `public` and cannot since migration 0009 moved the tables to `wamesh`; its
figures are in the README).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psycopg

from tests.bench.common import bench_infra, median, percentile, receiver_process, summary
from tests.support.infra import Infra, fresh_database, fresh_redis
from tests.support.workers import create_line
from tests.webhooks import scenarios
from tests.webhooks.scenarios import running_endpoints
from wamesh.db.pool import open_pool
from wamesh.outbox import record_event
from wamesh.settings import Settings
from wamesh.webhooks.producer import running_producer

N = int(os.environ.get("BENCH_N", "3000"))  # more events: BENCH_N=30000 make bench
CONCURRENCY = 100  # WEBHOOK_CONCURRENCY's default
LINES = 100
ROUNDS = 3
LATENCY_EVENTS = 300
LATENCY_RATE_PER_S = 100
PROCESSES = os.environ.get("BENCH_WEBHOOK_PROCESSES", "")  # the worker's --processes


async def plain_loop(url: str, count: int, concurrency: int) -> float:
    """Requests per second of a bare aiohttp POST loop."""
    body = json.dumps({"id": "x" * 36, "type": "message.received", "data": {"n": 1}}).encode()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                async with http.post(url, data=body, headers={"webhook-id": f"plain-{n}"}) as resp:
                    await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


def _delivered(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM wamesh.webhook_deliveries WHERE status = 'delivered'"
        ).fetchone()
    return int(row[0]) if row else 0


async def wamesh_rate(database_url: str, redis_url: str, lines: list[str], count: int) -> float:
    """Deliveries per second of the worker, from kick to the last delivered row; the rows are
    spread over `lines`, kicked in the order they were committed (lines interleaved)."""
    per_line: list[list[str]] = []
    async with open_pool(database_url) as pool:
        for line in lines:
            per_line.append(await scenarios.add_rows(pool, line, count // len(lines)))
    ids = [i for batch in zip(*per_line, strict=True) for i in batch]
    before = _delivered(database_url)
    settings = Settings.from_env({"REDIS_URL": redis_url})
    async with running_producer(settings) as producer:
        started = time.perf_counter()
        await producer.kick(ids)
        async with asyncio.timeout(600):
            while _delivered(database_url) < before + len(ids):
                await asyncio.sleep(0.05)
    return len(ids) / (time.perf_counter() - started)


async def latencies(database_url: str, redis_url: str, line: str, stats_url: str) -> list[float]:
    """Commit-to-arrival times of events committed at a steady rate."""
    settings = Settings.from_env({"REDIS_URL": redis_url})
    committed: dict[str, float] = {}
    async with open_pool(database_url) as pool, running_producer(settings) as producer:
        for n in range(LATENCY_EVENTS):
            async with pool.connection() as conn, conn.transaction():
                delivery = str(await record_event(conn, line, "message.received", {"n": n}))
            committed[delivery] = time.time()
            await producer.kick([delivery])
            await asyncio.sleep(1 / LATENCY_RATE_PER_S)
        await asyncio.sleep(2)
    async with aiohttp.ClientSession() as http, http.get(stats_url) as resp:
        arrivals = await resp.json()
    return [arrivals[d] - t for d, t in committed.items() if d in arrivals]


def main() -> None:
    """Print the figures of the parts BENCH_WEBHOOKS names (throughput, fairness or all)."""
    part = os.environ.get("BENCH_WEBHOOKS", "all")
    if part in ("throughput", "all"):
        throughput()
    if part in ("fairness", "all"):
        fairness()


def throughput() -> None:
    """Print the throughput figures and the ratio."""
    with (
        bench_infra() as (infra, workdir),
        receiver_process() as receiver,
        fresh_database(infra) as db,
        fresh_redis(infra) as rds,
    ):
        hook = receiver + "/hook"
        env = {
            **os.environ,
            "DATABASE_URL": db,
            "REDIS_URL": rds,
            "WEBHOOK_ALLOW_PRIVATE": "true",
            "WAMESH_LOG_LEVEL": "warning",
        }
        if PROCESSES:
            env["WEBHOOK_PROCESSES"] = PROCESSES
        log = Path(workdir) / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "wamesh", "worker"], env=env, stdout=out, stderr=out
            )
        try:
            time.sleep(2)
            plain, ours = [], []
            for _ in range(ROUNDS):  # interleaved, so both see the same noise
                plain.append(asyncio.run(plain_loop(hook, N, CONCURRENCY)))
                lines = [create_line(db, webhook_url=f"{hook}?line={n}") for n in range(LINES)]
                ours.append(asyncio.run(wamesh_rate(db, rds, lines, N)))
            lat = asyncio.run(
                latencies(db, rds, create_line(db, webhook_url=hook), receiver + "/stats")
            )
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    print(
        f"webhook delivery, {N} events over {LINES} lines, default settings (concurrency"
        f" {CONCURRENCY}, 5 per line, processes {PROCESSES or 'default'})"
    )
    print(f"  medians of {ROUNDS} interleaved rounds")
    print(f"  plain aiohttp POST loop : {median(plain):8.0f} req/s (baseline)  {_each(plain)}")
    print(f"  wamesh worker           : {median(ours):8.0f} deliveries/s  {_each(ours)}")
    print(f"  ratio                   : {median(ours) / median(plain):8.2f} (aim: >= 0.6)")
    print(
        f"  event-to-delivery latency at {LATENCY_RATE_PER_S}/s: {summary(lat)} ({len(lat)} events)"
    )


FAIR_BACKLOG = 1_000
FAIR_HANGING = 25
FAIR_HANGING_ROWS = 10
FAIR_RATE_PER_S = 10
FAIR_SECONDS = float(os.environ.get("BENCH_FAIR_SECONDS", "10"))
FAIR_DEAD_ROWS = 2_000
BASELINE_REV = os.environ.get("BENCH_BASELINE_REV", "")


@dataclass
class Fairness:
    """The figures of the fairness scenarios for one version of the code."""

    backlog_rate: float = 0.0
    backlog_updates: float = 0.0
    alone_p99: float = 0.0
    beside_p50: float = 0.0
    beside_p99: float = 0.0
    beside_missing: int = 0
    dead_updates_per_s: float = 0.0


async def _backlog(infra: Infra, log: Path, code: Path | None, out: Fairness) -> None:
    with fresh_database(infra) as db, fresh_redis(infra) as rds:
        async with running_endpoints() as ends, open_pool(db) as pool:
            busy = scenarios.line(db, ends.url("ok"))
            ids = await scenarios.add_rows(pool, busy, FAIR_BACKLOG)
            worker = scenarios.spawn_worker(db, rds, log, code)
            try:
                await asyncio.sleep(1.5)
                before = scenarios.row_updates(db)[0]
                await scenarios.kick(rds, ids)
                seconds = await scenarios.wait_delivered(db, busy, FAIR_BACKLOG, 300)
            finally:
                worker.stop()
            out.backlog_rate = FAIR_BACKLOG / seconds
            out.backlog_updates = (scenarios.row_updates(db)[0] - before) / FAIR_BACKLOG


async def _healthy_p99(
    infra: Infra, log: Path, code: Path | None, hanging: int
) -> tuple[list[float], int]:
    with fresh_database(infra) as db, fresh_redis(infra) as rds:
        async with running_endpoints() as ends, open_pool(db) as pool:
            healthy = scenarios.line(db, ends.url("ok"))
            worker = scenarios.spawn_worker(db, rds, log, code)
            try:
                await asyncio.sleep(1.5)
                stuck: list[str] = []
                for n in range(hanging):
                    dead = scenarios.line(db, ends.url(f"hang/{n}"))
                    stuck += await scenarios.add_rows(pool, dead, FAIR_HANGING_ROWS)
                await scenarios.kick(rds, stuck)
                steady = await scenarios.steady_events(
                    pool, rds, healthy, FAIR_RATE_PER_S, FAIR_SECONDS
                )
                await asyncio.sleep(2)
            finally:
                worker.stop()
            return steady.latencies(ends), steady.missing(ends)


async def _dead(infra: Infra, log: Path, code: Path | None, out: Fairness) -> None:
    with fresh_database(infra) as db, fresh_redis(infra) as rds:
        async with running_endpoints() as ends, open_pool(db) as pool:
            dead = scenarios.line(db, ends.dead)
            ids = await scenarios.add_rows(pool, dead, FAIR_DEAD_ROWS)
            worker = scenarios.spawn_worker(db, rds, log, code)
            try:
                await asyncio.sleep(1.5)
                before = scenarios.row_updates(db)[0]
                started = time.perf_counter()
                await scenarios.kick(rds, ids)
                await asyncio.sleep(FAIR_SECONDS)
            finally:
                worker.stop()
            seconds = time.perf_counter() - started
            out.dead_updates_per_s = (scenarios.row_updates(db)[0] - before) / seconds


async def _fairness(infra: Infra, log: Path, code: Path | None) -> Fairness:
    out = Fairness()
    await _backlog(infra, log, code, out)
    alone, _ = await _healthy_p99(infra, log, code, 0)
    beside, out.beside_missing = await _healthy_p99(infra, log, code, FAIR_HANGING)
    out.alone_p99 = percentile(alone, 99)
    out.beside_p50, out.beside_p99 = percentile(beside, 50), percentile(beside, 99)
    await _dead(infra, log, code, out)
    return out


def fairness() -> None:
    """Print the fairness figures of this checkout (beside BENCH_BASELINE_REV's when set)."""
    figures: list[Fairness] = []
    with bench_infra() as (infra, workdir):
        if BASELINE_REV:
            with scenarios.old_services(BASELINE_REV) as old:
                figures.append(asyncio.run(_fairness(infra, workdir / "old.log", old)))
        figures.append(asyncio.run(_fairness(infra, workdir / "new.log", None)))
    after = figures[-1]
    print("webhook fairness, default settings (concurrency 100, 5 per line), one worker process")
    heads = [BASELINE_REV] * (len(figures) - 1) + ["this checkout"]
    print(f"  {'':44} " + " ".join(f"{h:>14}" for h in heads))
    rows = [
        (f"{FAIR_BACKLOG}-row backlog on one line: deliveries/s", "backlog_rate", "{:.0f}"),
        ("  row updates per delivery", "backlog_updates", "{:.2f}"),
        (f"healthy line alone at {FAIR_RATE_PER_S}/s: p99 ms", "alone_p99", "ms"),
        (f"beside {FAIR_HANGING} hanging endpoints: p50 ms", "beside_p50", "ms"),
        ("  p99 ms", "beside_p99", "ms"),
        ("  events not arrived by the end", "beside_missing", "{}"),
        (
            f"{FAIR_DEAD_ROWS} rows for a dead endpoint: row updates/s",
            "dead_updates_per_s",
            "{:.0f}",
        ),
    ]
    for label, name, form in rows:
        cells = [getattr(f, name) for f in figures]
        text = [f"{c * 1000:.0f}" if form == "ms" else form.format(c) for c in cells]
        print(f"  {label:44} " + " ".join(f"{t:>14}" for t in text))
    print(
        f"  p99 beside hanging / alone: {after.beside_p99 / max(after.alone_p99, 1e-9):.2f} (aim <= 2)"
    )


def _each(rates: list[float]) -> str:
    return "(" + ", ".join(f"{r:.0f}" for r in rates) + ")"


if __name__ == "__main__":
    main()
