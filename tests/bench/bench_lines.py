"""N sandbox lines on one box (N = 50 and 100; BENCH_LINES=10,20 for fewer): what they hold and
what they cost, beside a bare idle Python interpreter measured in the same run.

For each N, on a private PostgreSQL and Redis: N workers started at once; per worker the CPU
seconds from exec to registered and to `qr`, the seconds until all show a QR; all scanned; a
burst of SENDS_PER_LINE sends through every line (PostgreSQL and Redis connections sampled
during it and right after); then, once the lines have settled (auth saves done, pools back to
their idle size), the connections again, PSS per worker and the CPU per line over BENCH_IDLE_S
(from /proc/<pid>/task/*/schedstat, nanoseconds: an idle line's few tenths of a millisecond a
second are a handful of 10 ms ticks in /proc/<pid>/stat), with where it goes by thread name
(Python's own threads, the event loop among them, are `python`; gRPC's are `event_engine`,
`grpc_global_tim` and `lifeguard`). Workers run with the production lease (15 s) and log level
warning.

Two more baselines in the same run: a bare gRPC aio server (nothing else) idle beside the lines,
the floor an idle line cannot go under (gRPC's timer, lifeguard and event engine threads wake by
themselves); and the CPU a worker's imports alone take (`python -c "import <its modules>"`), the
part of its start-up that is imports.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc.aio
import psycopg
import redis

from tests.bench.common import bench_infra, cpu_s, median
from tests.support.connections import pg_connections, redis_connections
from tests.support.infra import Infra, fresh_database, fresh_redis
from tests.support.memory import pss_kib
from tests.support.workers import WorkerProcess, create_line, spawn_worker, worker_env
from wamesh.constants import WORKER_KEY
from wamesh.v1 import session_pb2, session_pb2_grpc

LINE_COUNTS = tuple(int(n) for n in os.environ.get("BENCH_LINES", "50,100").split(","))
IDLE_S = float(os.environ.get("BENCH_IDLE_S", "60"))
# After ready a line saves its auth state at 10 s and 60 s (session/line.py): past both, a line
# is as idle as it will be for hours.
SETTLE_S = float(os.environ.get("BENCH_SETTLE_S", "70"))
SENDS_PER_LINE = 10
IN_FLIGHT = 64
PREFIX = "wamesh-session-"
BARE = [sys.executable, "-c", "import time; time.sleep(100000)"]
BARE_GRPC = [
    sys.executable,
    "-c",
    "import asyncio\n"
    "from grpc import aio\n"
    "async def main():\n"
    "    server = aio.server()\n"
    "    server.add_insecure_port('127.0.0.1:0')\n"
    "    await server.start()\n"
    "    await asyncio.sleep(100000)\n"
    "asyncio.run(main())\n",
]
# What `wamesh session` imports before it serves (wamesh.session.cli and its run), with the
# cyclic collector off as the worker has it while importing (wamesh.process).
WORKER_IMPORTS = [
    sys.executable,
    "-c",
    "import gc; gc.disable(); "
    "import wamesh.cli, wamesh.session.cli, wamesh.process, wamesh.db.pool, wamesh.outbox, "
    "wamesh.redis_client, wamesh.session.worker, wamesh.webhooks.producer, "
    "wamesh.engines.sandbox",
]


@dataclass
class Started:
    """When each worker was spawned, registered and first showed a QR (CPU seconds then)."""

    spawned_at: dict[str, float] = field(default_factory=dict)
    registered_cpu: dict[str, float] = field(default_factory=dict)
    qr_cpu: dict[str, float] = field(default_factory=dict)
    qr_after: dict[str, float] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)


@dataclass
class Figures:
    """What one N measured."""

    lines: int
    all_qr_s: float
    registered_cpu_s: float
    qr_cpu_s: float
    qr_after_s: float
    pg_peak: int
    pg_after_burst: int
    redis_after_burst: int
    pg_idle: int
    redis_idle: int
    pss_kib: float
    idle_cpu_pct: float
    grpc_idle_cpu_pct: float
    idle_by_thread: dict[str, float]  # thread name -> CPU ms per second per line


def _threads_ns(pid: int) -> dict[str, tuple[str, int]]:
    """CPU nanoseconds so far of each thread of `pid` (thread id -> name, ns), from
    /proc/<pid>/task/*/schedstat. A thread that ends between two readings takes its CPU with it:
    fine for an idle process, whose threads stay."""
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            threads[task.name] = (name, int((task / "schedstat").read_text().split()[0]))
        except (OSError, ValueError):
            continue  # ended meanwhile
    return threads


def _idle_ns(
    before: dict[str, tuple[str, int]], after: dict[str, tuple[str, int]]
) -> dict[str, int]:
    """CPU nanoseconds between two readings of one process, by thread name."""
    spent: dict[str, int] = {}
    for tid, (name, ns) in after.items():
        spent[name] = spent.get(name, 0) + ns - before.get(tid, (name, 0))[1]
    return spent


def _statuses(db: str) -> dict[str, str]:
    with psycopg.connect(db) as conn:
        return {
            str(r[0]): str(r[1])
            for r in conn.execute("SELECT id::text, status FROM wamesh.sessions")
        }


def _watch_start(workers: dict[str, WorkerProcess], db: str, rds: str, started: Started) -> None:
    """Poll the registry and the lines' rows until every worker is registered and at `qr`."""
    client = redis.Redis.from_url(rds)
    deadline = time.monotonic() + 600
    try:
        while len(started.qr_after) < len(workers):
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(started.qr_after)} of {len(workers)} at qr")
            waiting = [line for line in workers if line not in started.registered_cpu]
            keys = [WORKER_KEY.format(session_id=line) for line in waiting]
            for line, raw in zip(waiting, client.mget(keys) if keys else [], strict=True):
                if raw is not None and json.loads(raw)["pid"] == workers[line].proc.pid:
                    started.registered_cpu[line] = cpu_s(workers[line].proc.pid)
                    started.addresses[line] = str(json.loads(raw)["address"])
            for line, status in _statuses(db).items():
                if status == "qr" and line not in started.qr_after:
                    started.qr_cpu[line] = cpu_s(workers[line].proc.pid)
                    started.qr_after[line] = time.monotonic() - started.spawned_at[line]
            time.sleep(0.02)
    finally:
        client.close()


async def _each(lines: list[str], one: Callable[[str], Awaitable[None]]) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for line in lines:
        queue.put_nowait(line)

    async def drain() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    await asyncio.gather(*(drain() for _ in range(IN_FLIGHT)))


async def _scan_and_burst(db: str, addresses: dict[str, str]) -> int:
    """Scan every line, wait until all are ready, send through each; the peak of PostgreSQL
    connections seen while sending."""
    channels = {line: grpc.aio.insecure_channel(addr) for line, addr in addresses.items()}
    lines = list(addresses)
    try:

        async def scan(line: str) -> None:
            sandbox = session_pb2_grpc.SandboxServiceStub(channels[line])
            await sandbox.Scan(session_pb2.ScanRequest(session_id=line))

        async def send(line: str) -> None:
            session = session_pb2_grpc.SessionServiceStub(channels[line])
            for n in range(SENDS_PER_LINE):
                request = session_pb2.SendMessageRequest(
                    session_id=line, to="15550001111", text=f"burst {n}", client_message_id=f"b{n}"
                )
                await session.SendMessage(request)

        await _each(lines, scan)
        while any(s != "ready" for s in (await asyncio.to_thread(_statuses, db)).values()):
            await asyncio.sleep(0.1)
        sending = asyncio.create_task(_each(lines, send))
        peak = 0
        while not sending.done():
            peak = max(peak, await asyncio.to_thread(pg_connections, db, PREFIX))
            await asyncio.sleep(0.05)
        await sending
        return peak
    finally:
        for channel in channels.values():
            await channel.close()


def _measure(infra: Infra, workdir: Path, count: int) -> tuple[Figures, float, float]:
    """Figures of `count` lines (with a bare gRPC server's idle CPU %), and the bare
    interpreter's idle CPU % and PSS in KiB."""
    with fresh_database(infra) as db, fresh_redis(infra) as rds:
        env = worker_env(db, rds, workdir, WAMESH_LOG_LEVEL="warning")
        del env["WAMESH_LEASE_TTL_MS"]  # the production lease (15 s), renewed every 7.5 s
        lines = [create_line(db, name=f"bench {n}") for n in range(count)]
        bare = subprocess.Popen(BARE)
        bare_grpc = subprocess.Popen(BARE_GRPC)
        workers: dict[str, WorkerProcess] = {}
        started = Started()
        began = time.monotonic()
        try:
            for line in lines:
                started.spawned_at[line] = time.monotonic()
                workers[line] = spawn_worker(line, env, workdir / "logs")
            _watch_start(workers, db, rds, started)
            all_qr_s = time.monotonic() - began
            pg_peak = asyncio.run(_scan_and_burst(db, started.addresses))
            pg_after, redis_after = pg_connections(db, PREFIX), redis_connections(rds, PREFIX)
            time.sleep(SETTLE_S)
            pg_idle, redis_idle = pg_connections(db, PREFIX), redis_connections(rds, PREFIX)
            pids = [w.proc.pid for w in workers.values()] + [bare.pid, bare_grpc.pid]
            before, t0 = [_threads_ns(p) for p in pids], time.monotonic()
            time.sleep(IDLE_S)
            after, elapsed = [_threads_ns(p) for p in pids], time.monotonic() - t0
            *spent, bare_spent, grpc_spent = map(_idle_ns, before, after)
            pids = pids[:count]
            pss = sum(pss_kib(p) for p in pids) / count
            bare_pss = pss_kib(bare.pid)
        finally:
            bare.kill()
            bare_grpc.kill()
            for worker in workers.values():
                worker.kill()
    by_thread: dict[str, float] = {}
    for one in spent:
        for name, ns in one.items():
            by_thread[name] = by_thread.get(name, 0.0) + ns / 1e6 / elapsed / count
    idle_pct = sum(by_thread.values()) / 10  # ms per second -> % of a core
    figures = Figures(
        lines=count,
        all_qr_s=all_qr_s,
        registered_cpu_s=median(list(started.registered_cpu.values())),
        qr_cpu_s=median(list(started.qr_cpu.values())),
        qr_after_s=median(list(started.qr_after.values())),
        pg_peak=max(pg_peak, pg_after),
        pg_after_burst=pg_after,
        redis_after_burst=redis_after,
        pg_idle=pg_idle,
        redis_idle=redis_idle,
        pss_kib=pss,
        idle_cpu_pct=idle_pct,
        grpc_idle_cpu_pct=sum(grpc_spent.values()) / 1e7 / elapsed,
        idle_by_thread=by_thread,
    )
    return figures, sum(bare_spent.values()) / 1e7 / elapsed, bare_pss


def _start_cpu_s(command: list[str]) -> float:
    """CPU seconds of `command` from exec to exit, median of 5 after a first run that writes
    the bytecode caches (as the workers do: their environment does not forbid it)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, env=env, check=True)
    runs = []
    for _ in range(5):
        proc = subprocess.Popen(command, env=env)
        _, _, usage = os.wait4(proc.pid, 0)
        runs.append(usage.ru_utime + usage.ru_stime)
    return median(runs)


@dataclass
class StartBaselines:
    """CPU seconds from exec to exit: a bare interpreter, and one importing a worker's modules."""

    bare: float
    imports: float


def _report(f: Figures, bare_idle_pct: float, bare_pss: float, start: StartBaselines) -> None:
    n = f.lines
    load = os.getloadavg()[0]
    print(f"{n} sandbox lines, one worker each (load average {load:.1f} on {os.cpu_count()} cores")
    print("  shared with other work: CPU seconds are the workers' own, wall seconds are not)")
    print(
        f"  start: all at qr after {f.all_qr_s:.1f} s; per worker (median) {f.qr_after_s:.1f} s "
        f"to qr, CPU {f.registered_cpu_s:.2f} s to registered, {f.qr_cpu_s:.2f} s to qr "
        f"(bare interpreter start+exit {start.bare:.3f} s: {f.qr_cpu_s / start.bare:.0f}x; "
        f"the worker's imports alone {start.imports:.3f} s, measured before the lines start)"
    )
    print(
        f"  PostgreSQL connections: peak in the burst {f.pg_peak} ({f.pg_peak / n:.2f}/line), "
        f"right after {f.pg_after_burst}, idle {f.pg_idle} ({f.pg_idle / n:.2f}/line)"
    )
    print(
        f"  Redis connections: right after the burst {f.redis_after_burst}, idle {f.redis_idle} "
        f"({f.redis_idle / n:.2f}/line)"
    )
    print(
        f"  PSS per worker {f.pss_kib / 1024:.1f} MiB (bare interpreter {bare_pss / 1024:.1f} MiB: "
        f"{f.pss_kib / bare_pss:.1f}x)"
    )
    print(
        f"  idle CPU over {IDLE_S:.0f} s: {f.idle_cpu_pct:.4f} % of a core per line, "
        f"{f.idle_cpu_pct * n:.2f} % for all {n} (bare interpreter {bare_idle_pct:.4f} %, "
        f"a bare idle gRPC aio server {f.grpc_idle_cpu_pct:.4f} %)"
    )
    threads = sorted(f.idle_by_thread.items(), key=lambda item: -item[1])
    print("  by thread, CPU ms/s per line: " + ", ".join(f"{n} {ms:.3f}" for n, ms in threads))


def main() -> None:
    """Print the figures of each N against a bare interpreter, same run."""
    start = StartBaselines(
        bare=_start_cpu_s([sys.executable, "-c", "pass"]), imports=_start_cpu_s(WORKER_IMPORTS)
    )
    with bench_infra() as (infra, workdir):
        for count in LINE_COUNTS:
            figures, bare_idle, bare_pss = _measure(infra, workdir, count)
            _report(figures, bare_idle, bare_pss, start)


if __name__ == "__main__":
    main()
