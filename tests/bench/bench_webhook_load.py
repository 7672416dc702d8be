"""The webhook worker at moderate load: what one delivery costs at 10 to 1,000 events/s.

Events are committed one per transaction (as a session worker does) and kicked one per XADD,
spread over LINES lines, at a steady rate for a few seconds, and delivered by a real `wamesh
worker` (default settings: concurrency 100, 5 per line) to a loopback receiver in its own process.
For each rate the run prints, per delivery: the worker's CPU (user + system, all its processes,
from /proc), its wake-ups (context switches of all its threads), PostgreSQL transactions of the
worker (the database's commits minus the driver's one per event), Redis commands (INFO
commandstats, minus the driver's XADDs), and event-to-receipt p50/p99 (commit to arrival at the
receiver). Baseline, same run: a plain aiohttp client POSTing the same events to the same
receiver at the same rate (its CPU per request), so the ratios hold on a busy box.

Before the rates, the worker's idle cost: CPU, wake-ups, PostgreSQL transactions and Redis commands
per second with no event for `BENCH_LOAD_IDLE_SECONDS` (default 20; 0 skips it), which a delivery
at 10 events/s carries a tenth of.

`BENCH_LOAD_RATES=50,500` picks the rates; `BENCH_LOAD_SECONDS` the length of each (default 8);
`BENCH_LOAD_PROCESSES` the worker's `--processes` (default: its own default); `BENCH_LOAD_PROFILE`
a file to write the worker's cProfile statistics to.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psycopg
import redis
from psycopg_pool import PoolTimeout

from tests.bench.common import bench_infra, cpu_s, percentile, receiver_process
from tests.support.infra import fresh_database, fresh_redis
from tests.support.workers import create_line
from wamesh.db.pool import open_pool
from wamesh.outbox import record_event
from wamesh.redis_client import redis_client
from wamesh.settings import Settings
from wamesh.webhooks.producer import running_producer

LINES = 100
RATES = [int(r) for r in os.environ.get("BENCH_LOAD_RATES", "10,50,100,400,500,1000").split(",")]
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "8"))
PROCESSES = os.environ.get("BENCH_LOAD_PROCESSES", "")
IDLE_SECONDS = float(os.environ.get("BENCH_LOAD_IDLE_SECONDS", "20"))
DRIVER_DROPPED: list[int] = []  # events the driver could not commit (the machine saturated)
PROFILE = os.environ.get("BENCH_LOAD_PROFILE", "")  # a path: cProfile the worker (one process)
DRIVER_POOL = 20

# The worker under cProfile counting CPU time, not wall time (the box is shared).
PROFILED = """
import cProfile, sys, time
from wamesh.cli import main
profile = cProfile.Profile(time.process_time)
try:
    profile.runcall(main, sys.argv[1:])
finally:
    profile.dump_stats({path!r})
"""

RECEIVER = """
import sys, time
from aiohttp import web
arrivals = {}
async def hook(request):
    await request.read()
    arrivals[request.headers.get("webhook-id", str(len(arrivals)))] = time.time()
    return web.Response(status=204)
async def stats(request):
    return web.json_response(arrivals)
async def reset(request):
    arrivals.clear()
    return web.Response(status=204)
app = web.Application()
app.router.add_post("/hook/{n}", hook)
app.router.add_get("/stats", stats)
app.router.add_post("/reset", reset)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def receiver() -> AbstractContextManager[str]:
    """The loopback receiver (one route per line) in its own process; yields its base URL."""
    return receiver_process(RECEIVER)


def family(pid: int) -> list[int]:
    """`pid` and its live descendants."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            found += family(int(kid))
    return found


def family_cpu_s(pid: int) -> float:
    """CPU seconds of `pid` and its live descendants, from the scheduler's nanosecond count of
    each thread (/proc/<pid>/task/<tid>/schedstat; `stat`'s clock ticks of 10 ms made a figure
    of 50 deliveries move by 0.2 ms each), or `stat` where schedstat is missing."""
    total = 0.0
    for member in family(pid):
        tasks = list(Path(f"/proc/{member}/task").glob("*/schedstat"))
        if not tasks:
            with suppress(OSError):
                total += cpu_s(member)
        for stat in tasks:
            with suppress(OSError, ValueError, IndexError):
                total += int(stat.read_text().split()[0]) / 1e9
    return total


def wakeups(pid: int) -> int:
    """Context switches (voluntary and not) of every thread of `pid` and its descendants."""
    total = 0
    for member in family(pid):
        for status in Path(f"/proc/{member}/task").glob("*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            for row in text.splitlines():
                if row.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(row.split()[1])
    return total


def commits(database_url: str) -> int:
    """Transactions of the database so far (committed and rolled back)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def redis_calls(redis_url: str) -> dict[str, int]:
    """Calls per command of the Redis server so far."""
    client = redis.Redis.from_url(redis_url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


@dataclass
class Figures:
    """One rate's figures."""

    rate: float
    events: int = 0
    delivered: int = 0
    cpu_ms: float = 0.0  # per delivery
    wakeups: float = 0.0
    transactions: float = 0.0
    redis: float = 0.0
    redis_top: str = ""
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    plain_cpu_ms: float = 0.0
    kick_p99_ms: float = 0.0  # the driver's own delay: commit to XADD answered
    not_committed: int = 0  # events the driver gave up on (no connection within 10 s)


async def _emit(
    database_url: str, redis_url: str, lines: list[str], rate: float, seconds: float
) -> tuple[dict[str, float], list[float]]:
    """Commit and kick events at `rate` per second over `lines` (Poisson arrivals, one
    transaction and one XADD each, several at once as separate lines would)."""
    committed: dict[str, float] = {}
    kicks: list[float] = []  # commit to the kick's XADD answered
    settings = Settings.from_env({"REDIS_URL": redis_url})
    # Lines are separate processes with a connection each; one connection for all serialised the
    # kicks (measured: commit-to-XADD p99 of 7 s at 400/s), so the driver has DRIVER_POOL.
    redis_kicks = redis_client(settings, DRIVER_POOL, "bench-driver")
    async with (
        open_pool(database_url, max_size=DRIVER_POOL) as pool,
        running_producer(settings, redis_kicks) as producer,
    ):

        async def one(n: int) -> None:
            line = lines[n % len(lines)]
            try:
                async with pool.connection() as conn, conn.transaction():
                    delivery = await record_event(conn, line, "message.received", {"n": n})
            except PoolTimeout:  # the driver cannot commit this fast: said in the row
                DRIVER_DROPPED.append(n)
                return
            assert delivery is not None
            committed[str(delivery)] = time.time()
            await producer.kick([str(delivery)])
            kicks.append(time.time() - committed[str(delivery)])

        tasks: set[asyncio.Task[None]] = set()
        deadline = time.monotonic() + seconds
        tick = time.monotonic()
        n = 0
        while tick < deadline:
            task = asyncio.create_task(one(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
            tick += random.expovariate(rate)
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
        if tasks:
            await asyncio.gather(*tasks)
    await redis_kicks.aclose()
    return committed, kicks


async def _arrivals(base: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(base + "/stats") as resp:
        found: dict[str, float] = await resp.json()
    async with aiohttp.ClientSession() as http, http.post(base + "/reset") as resp:
        await resp.read()
    return found


async def _wait_arrived(base: str, ids: dict[str, float], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        async with aiohttp.ClientSession() as http, http.get(base + "/stats") as resp:
            found: dict[str, float] = await resp.json()
        if all(i in found for i in ids) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    return await _arrivals(base)


async def plain_cpu_ms(base: str, rate: float, seconds: float) -> float:
    """CPU ms per request of a plain aiohttp client POSTing at `rate` (the baseline), measured in
    a child process so its CPU is its own."""
    code = f"""
import asyncio, json, random, time, aiohttp, resource
async def main():
    body = json.dumps({{"id": "x" * 36, "type": "message.received", "data": {{"n": 1}}}}).encode()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:
        async def one(n):
            async with http.post("{base}/hook/plain", data=body, headers={{"webhook-id": f"p{{n}}"}}) as r:
                await r.read()
        tasks = set(); n = 0
        start = resource.getrusage(resource.RUSAGE_SELF)
        tick = time.monotonic(); deadline = tick + {seconds}
        while tick < deadline:
            t = asyncio.create_task(one(n)); tasks.add(t); t.add_done_callback(tasks.discard); n += 1
            tick += random.expovariate({rate})
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
        await asyncio.gather(*tasks)
        end = resource.getrusage(resource.RUSAGE_SELF)
        cpu = end.ru_utime + end.ru_stime - start.ru_utime - start.ru_stime
        print(cpu * 1000 / n)
asyncio.run(main())
"""
    out = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    await _arrivals(base)
    return float(out.stdout.strip())


def spawn(database_url: str, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    """`wamesh worker` with default settings (and BENCH_LOAD_PROCESSES when given)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WAMESH_LOG_LEVEL": "warning",
    }
    if PROCESSES:
        env["WEBHOOK_PROCESSES"] = PROCESSES
    command = ["-c", PROFILED.format(path=PROFILE)] if PROFILE else ["-m", "wamesh"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *command, "worker"], env=env, stdout=out, stderr=out
        )


async def measure(
    database_url: str, redis_url: str, base: str, pid: int, lines: list[str], rate: float
) -> Figures:
    """One rate: drive, wait for every event, and read the counters."""
    out = Figures(rate)
    await asyncio.sleep(1.0)
    cpu0, wake0, tx0, calls0 = (
        family_cpu_s(pid),
        wakeups(pid),
        commits(database_url),
        redis_calls(redis_url),
    )
    DRIVER_DROPPED.clear()
    committed, kicks = await _emit(database_url, redis_url, lines, rate, SECONDS)
    out.not_committed = len(DRIVER_DROPPED)
    out.kick_p99_ms = percentile(kicks, 99) * 1000
    arrived = await _wait_arrived(base, committed, 30)
    await asyncio.sleep(0.5)  # outcomes of the last deliveries
    cpu1, wake1, tx1, calls1 = (
        family_cpu_s(pid),
        wakeups(pid),
        commits(database_url),
        redis_calls(redis_url),
    )
    out.events = len(committed)
    latencies = [arrived[i] - t for i, t in committed.items() if i in arrived]
    out.delivered = max(1, len(latencies))
    each = out.delivered
    out.cpu_ms = (cpu1 - cpu0) * 1000 / each
    out.wakeups = (wake1 - wake0) / each
    # the driver: one transaction per event, plus the counters' own reads (2)
    out.transactions = (tx1 - tx0 - out.events - 2) / each
    diff = {k: calls1.get(k, 0) - calls0.get(k, 0) for k in calls1}
    diff["xadd"] = diff.get("xadd", 0) - out.events
    diff["info"] = 0
    diff["xgroup|create"] = 0
    diff["client|setname"] = 0
    diff["hello"] = diff["select"] = 0  # the counters' own connections
    diff = {k: v for k, v in diff.items() if v > 0}
    out.redis = sum(diff.values()) / each
    top = sorted(diff.items(), key=lambda kv: -kv[1])[:5]
    out.redis_top = " ".join(f"{k} {v / each:.2f}" for k, v in top)
    out.p50_ms = percentile(latencies, 50) * 1000 if latencies else float("nan")
    out.p99_ms = percentile(latencies, 99) * 1000 if latencies else float("nan")
    out.plain_cpu_ms = await plain_cpu_ms(base, rate, min(SECONDS, 4))
    return out


@dataclass
class Idle:
    """The worker's cost per second with no event."""

    cpu_ms: float = 0.0
    wakeups: float = 0.0
    transactions: float = 0.0
    redis: float = 0.0
    redis_top: str = ""


def measure_idle(database_url: str, redis_url: str, pid: int, seconds: float) -> Idle:
    """CPU, wake-ups, transactions and Redis commands of the idle worker, per second."""
    cpu0, wake0, tx0, calls0 = (
        family_cpu_s(pid),
        wakeups(pid),
        commits(database_url),
        redis_calls(redis_url),
    )
    time.sleep(seconds)
    cpu1, wake1, tx1, calls1 = (
        family_cpu_s(pid),
        wakeups(pid),
        commits(database_url),
        redis_calls(redis_url),
    )
    diff = {k: calls1.get(k, 0) - calls0.get(k, 0) for k in calls1}
    for own in ("info", "client|setname", "hello", "select"):  # the counters' own
        diff[own] = 0
    diff = {k: v for k, v in diff.items() if v > 0}
    top = sorted(diff.items(), key=lambda kv: -kv[1])[:5]
    return Idle(
        (cpu1 - cpu0) * 1000 / seconds,
        (wake1 - wake0) / seconds,
        (tx1 - tx0 - 1) / seconds,  # the first counter read
        sum(diff.values()) / seconds,
        " ".join(f"{k} {v / seconds:.2f}" for k, v in top),
    )


def main() -> None:
    """Print the idle cost, then one row per rate."""
    rows: list[Figures] = []
    idle: Idle | None = None
    with (
        bench_infra() as (infra, workdir),
        receiver() as base,
        fresh_database(infra) as db,
        fresh_redis(infra) as rds,
    ):
        lines = [create_line(db, webhook_url=f"{base}/hook/{n}") for n in range(LINES)]
        worker = spawn(db, rds, workdir / "worker.log")
        try:
            time.sleep(2)
            if IDLE_SECONDS > 0:
                idle = measure_idle(db, rds, worker.pid, IDLE_SECONDS)
            for rate in RATES:
                rows.append(asyncio.run(measure(db, rds, base, worker.pid, lines, rate)))
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    procs = PROCESSES or "default"
    print(
        f"webhook worker at steady rates over {LINES} lines, {SECONDS:.0f} s each, default settings,"
        f" processes {procs}; per delivery:"
    )
    if idle is not None:
        print(
            f"  idle, per second over {IDLE_SECONDS:.0f} s: CPU {idle.cpu_ms:.2f} ms,"
            f" wake-ups {idle.wakeups:.1f}, PG tx {idle.transactions:.2f},"
            f" Redis {idle.redis:.2f} ({idle.redis_top})"
        )
    print(
        f"  {'events/s':>8} {'events':>6} {'lost':>4} {'CPU ms':>7} {'plain':>6} {'ratio':>6}"
        f" {'wakeups':>7} {'PG tx':>6} {'Redis':>6} {'p50 ms':>7} {'p99 ms':>7} {'kick99':>6}"
        "  Redis commands"
    )
    for f in rows:
        ratio = f.cpu_ms / max(f.plain_cpu_ms, 1e-9)
        print(
            f"  {f.rate:8.0f} {f.events:6d} {f.events - f.delivered:4d} {f.cpu_ms:7.2f}"
            f" {f.plain_cpu_ms:6.2f} {ratio:6.1f} {f.wakeups:7.1f} {f.transactions:6.2f}"
            f" {f.redis:6.2f} {f.p50_ms:7.1f} {f.p99_ms:7.1f} {f.kick_p99_ms:6.1f}  {f.redis_top}"
            + (f"  (driver could not commit {f.not_committed})" if f.not_committed else "")
        )
    print("  (plain: CPU ms per request of a bare aiohttp client at the same rate, same receiver;")
    print("   kick99: p99 ms from commit to the driver's XADD answered, part of p99;")
    print("   Redis: commands; an ack and the next read go in one round trip)")
    print("   aims: worker CPU <= 1 ms a delivery at every rate, p99 <= 100 ms at 100 and 400/s)")
    sys.stdout.flush()
