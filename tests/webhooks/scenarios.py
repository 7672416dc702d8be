"""Load scenarios of the webhook worker, shared by `tests/bench/bench_webhooks.py` and the fault
tests (`tests/faults/test_webhook_*.py`): a busy line's backlog, hanging endpoints beside a healthy
line, a dead endpoint's queue, and the figures they give (rates, row updates, latency).

The worker under test is a real `wamesh worker` process; it may run an older checkout of
`services/` (`old_services`) so a benchmark can compare both in one run. Row updates come from
PostgreSQL's own counters (`pg_stat_user_tables`), which a backend reports at the latest when it
goes idle or exits: figures are read after the worker has stopped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from aiohttp import web

from tests.support.workers import create_line
from wamesh.db.pool import Pool
from wamesh.dev.servers import free_port
from wamesh.outbox import OutboxEvent, record_events
from wamesh.settings import Settings
from wamesh.webhooks.producer import running_producer

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Endpoints:
    """Loopback receivers: `/ok` answers 204 at once and notes when each `webhook-id` arrived
    (and how often); `/hang` never answers; `dead` is a port nobody listens on."""

    base: str = ""
    arrivals: dict[str, float] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    hanging: int = 0
    dead: str = ""

    async def ok(self, request: web.Request) -> web.Response:
        await request.read()
        hook_id = request.headers.get("webhook-id", "")
        self.arrivals.setdefault(hook_id, time.time())
        self.seen[hook_id] = self.seen.get(hook_id, 0) + 1
        return web.Response(status=204)

    async def hang(self, request: web.Request) -> web.Response:
        self.hanging += 1
        try:
            await asyncio.sleep(3600)
        finally:
            self.hanging -= 1
        return web.Response(status=204)

    def url(self, name: str) -> str:
        """The URL of route `name` (`ok`, `hang`), with a query so each line's URL is its own."""
        return f"{self.base}/{name}"


@asynccontextmanager
async def running_endpoints() -> AsyncIterator[Endpoints]:
    """The receivers on a free loopback port, in this process."""
    endpoints = Endpoints(dead=f"http://127.0.0.1:{free_port()}/dead")
    app = web.Application()
    app.router.add_post("/ok", endpoints.ok)
    app.router.add_post("/ok/{n}", endpoints.ok)
    app.router.add_post("/hang/{n}", endpoints.hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    endpoints.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield endpoints
    finally:
        await runner.cleanup()


@contextmanager
def old_services(rev: str) -> Iterator[Path]:
    """`services/` of git revision `rev`, extracted into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="wamesh-old-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, "services"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
        yield folder / "services"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Worker:
    """A `wamesh worker` process."""

    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 30 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL."""
        self.proc.kill()
        self.proc.wait(timeout=10)


def spawn_worker(
    database_url: str, redis_url: str, log: Path, code: Path | None = None, **extra: str
) -> Worker:
    """Start `wamesh worker` (from `code`, an older `services/`, when given)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WAMESH_LOG_FORMAT": "text",
        "WAMESH_LOG_LEVEL": "warning",
        **extra,
    }
    if code is not None:
        env["PYTHONPATH"] = str(code)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wamesh", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Worker(proc, log)


def row_updates(database_url: str) -> tuple[int, int]:
    """(n_tup_upd, n_tup_hot_upd) of `webhook_deliveries` so far."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
            "WHERE relname = 'webhook_deliveries'"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def counts(database_url: str, line: str) -> dict[str, int]:
    """A line's rows by status."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM wamesh.webhook_deliveries WHERE session_id = %s GROUP BY 1",
            (line,),
        ).fetchall()
    return {str(status): int(n) for status, n in rows}


async def add_rows(pool: Pool, line: str, count: int) -> list[str]:
    """Commit `count` outbox rows for `line` in one transaction (not kicked)."""
    events = [OutboxEvent("message.received", {"n": n}) for n in range(count)]
    async with pool.connection() as conn, conn.transaction():
        return await record_events(conn, line, events)


async def kick(redis_url: str, ids: list[str]) -> None:
    """Kick `ids` as a session worker does."""
    async with running_producer(Settings.from_env({"REDIS_URL": redis_url})) as producer:
        await producer.kick(ids)


async def wait_delivered(database_url: str, line: str, count: int, timeout: float) -> float:
    """Seconds until `count` rows of `line` are delivered (TimeoutError past `timeout`)."""
    started = time.perf_counter()
    async with asyncio.timeout(timeout):
        while counts(database_url, line).get("delivered", 0) < count:
            await asyncio.sleep(0.02)
    return time.perf_counter() - started


@dataclass
class Steady:
    """Events committed one at a time at a steady rate, and when each was committed."""

    committed: dict[str, float] = field(default_factory=dict)

    def latencies(self, endpoints: Endpoints) -> list[float]:
        """Commit-to-arrival seconds; an event not arrived yet counts the time waited so far."""
        now = time.time()
        return [endpoints.arrivals.get(i, now) - t for i, t in self.committed.items()]

    def missing(self, endpoints: Endpoints) -> int:
        """Events that never arrived."""
        return sum(1 for i in self.committed if i not in endpoints.arrivals)


async def steady_events(
    pool: Pool, redis_url: str, line: str, rate_per_s: float, seconds: float
) -> Steady:
    """Commit and kick one event every 1/rate seconds for `seconds`."""
    steady = Steady()
    settings = Settings.from_env({"REDIS_URL": redis_url})
    async with running_producer(settings) as producer:
        deadline = time.monotonic() + seconds
        tick = time.monotonic()
        while time.monotonic() < deadline:
            (delivery,) = await add_rows(pool, line, 1)
            steady.committed[delivery] = time.time()
            await producer.kick([delivery])
            tick += 1 / rate_per_s
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
    return steady


def line(database_url: str, url: str) -> str:
    """A new line whose webhook is `url`."""
    return create_line(database_url, webhook_url=url)
