"""Webhook delivery throughput and latency against a plain aiohttp POST loop, in one run.

Throughput: N committed outbox rows are kicked at once and delivered by one `wamesh worker`
process (concurrency C) to a loopback receiver process; the baseline is a plain aiohttp loop
POSTing N signed-size bodies to the same receiver with the same concurrency; ROUNDS of each,
interleaved, and their medians compared. Latency: events are
committed one at a time at a steady rate and timed from commit to arrival at the receiver.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psycopg

from tests.bench.common import bench_infra, median, receiver_process, summary
from tests.support.infra import fresh_database, fresh_redis
from tests.support.workers import create_line
from wamesh.db.pool import open_pool
from wamesh.outbox import record_event
from wamesh.settings import Settings
from wamesh.webhooks.producer import running_producer

N = int(os.environ.get("BENCH_N", "3000"))  # more events: BENCH_N=30000 make bench
CONCURRENCY = 50
ROUNDS = 3
LATENCY_EVENTS = 300
LATENCY_RATE_PER_S = 100


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


async def _insert(database_url: str, line: str, count: int) -> list[str]:
    async with open_pool(database_url) as pool, pool.connection() as conn, conn.transaction():
        return [
            str(await record_event(conn, line, "message.received", {"n": n})) for n in range(count)
        ]


def _delivered(database_url: str, line: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE session_id = %s AND status = 'delivered'",
            (line,),
        ).fetchone()
    return int(row[0]) if row else 0


async def wamesh_rate(database_url: str, redis_url: str, line: str, count: int) -> float:
    """Deliveries per second of one worker process, from kick to the last delivered row."""
    ids = await _insert(database_url, line, count)
    settings = Settings.from_env({"REDIS_URL": redis_url})
    async with running_producer(settings) as producer:
        started = time.perf_counter()
        await producer.kick(ids)
        while _delivered(database_url, line) < count:
            await asyncio.sleep(0.02)
    return count / (time.perf_counter() - started)


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
    """Print the figures and the ratio."""
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
            "WEBHOOK_CONCURRENCY": str(CONCURRENCY),
            "WEBHOOK_PER_SESSION_INFLIGHT": str(CONCURRENCY),
            "WAMESH_LOG_LEVEL": "warning",
        }
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
                line = create_line(db, webhook_url=hook)
                ours.append(asyncio.run(wamesh_rate(db, rds, line, N)))
            lat = asyncio.run(
                latencies(db, rds, create_line(db, webhook_url=hook), receiver + "/stats")
            )
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    print(f"webhook delivery, {N} events, concurrency {CONCURRENCY}, one worker process")
    print(f"  medians of {ROUNDS} interleaved rounds")
    print(f"  plain aiohttp POST loop : {median(plain):8.0f} req/s (baseline)  {_each(plain)}")
    print(f"  wamesh worker           : {median(ours):8.0f} deliveries/s  {_each(ours)}")
    print(f"  ratio                   : {median(ours) / median(plain):8.2f} (aim: >= 0.5)")
    print(
        f"  event-to-delivery latency at {LATENCY_RATE_PER_S}/s: {summary(lat)} ({len(lat)} events)"
    )


def _each(rates: list[float]) -> str:
    return "(" + ", ".join(f"{r:.0f}" for r in rates) + ")"


if __name__ == "__main__":
    main()
