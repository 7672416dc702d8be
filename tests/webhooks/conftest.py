"""Fixtures for webhook tests: a scriptable receiver on loopback, lines, outbox rows, workers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from aiohttp import web

from tests.support.workers import LINE_SECRET, create_line
from wamesh.db.pool import Pool
from wamesh.outbox import record_event
from wamesh.settings import Settings
from wamesh.webhooks.worker import run_worker

FAST = {
    "WEBHOOK_BACKOFF_MS": "50",
    "WEBHOOK_MAX_BACKOFF_MS": "400",
    "WEBHOOK_TIMEOUT_MS": "3000",
    "WEBHOOK_RECONCILE_INTERVAL_MS": "200",
    "WEBHOOK_RECONCILE_GRACE_MS": "500",
    "WEBHOOK_ALLOW_PRIVATE": "true",
}


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An aiohttp app on 127.0.0.1 that answers from a script and records every request."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    default_status: int = 200
    extra_headers: dict[str, str] = field(default_factory=dict)
    hold: asyncio.Event | None = None
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            body = await request.read()
            self.requests.append(
                Received({k.lower(): v for k, v in request.headers.items()}, body, time.monotonic())
            )
            self.arrived.set()
            if self.hold is not None:
                await self.hold.wait()
            status = self.script.pop(0) if self.script else self.default_status
            return web.Response(status=status, text=f"status {status}", headers=self.extra_headers)
        finally:
            self.in_flight -= 1

    async def wait_for(self, count: int, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running receiver; its URL accepts POST at /hook."""
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/hook", recv.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recv.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield recv
    if recv.hold is not None:
        recv.hold.set()
    await runner.cleanup()


def settings_for(database_url: str, redis_url: str, **extra: str) -> Settings:
    """Fast webhook settings on the test servers."""
    return Settings.from_env(
        {"DATABASE_URL": database_url, "REDIS_URL": redis_url, **FAST, **extra}
    )


@pytest.fixture
def line_for(database_url: str) -> Callable[[str], str]:
    """`line_for(url)` creates a line whose webhook is `url`."""
    return lambda url: create_line(database_url, webhook_url=url)


async def add_events(
    pool: Pool, session_id: str, count: int, kind: str = "message.received"
) -> list[str]:
    """Commit `count` outbox rows; return their ids (not kicked)."""
    ids = []
    async with pool.connection() as conn, conn.transaction():
        for n in range(count):
            delivery_id = await record_event(conn, session_id, kind, {"n": n})
            assert delivery_id is not None
            ids.append(delivery_id)
    return ids


def statuses(database_url: str, ids: list[str]) -> dict[str, str]:
    """Each row's status."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id::text, status FROM wamesh.webhook_deliveries WHERE id::text = ANY(%s)",
            (ids,),
        ).fetchall()
    return dict(rows)  # type: ignore[arg-type]


async def wait_statuses(
    database_url: str, ids: list[str], wanted: str, timeout: float = 20
) -> None:
    """Wait until every row has status `wanted`."""
    async with asyncio.timeout(timeout):
        while set(statuses(database_url, ids).values()) != {wanted}:
            await asyncio.sleep(0.05)


@pytest.fixture
async def start_worker(
    database_url: str, redis_url: str
) -> AsyncIterator[Callable[..., asyncio.Task[int]]]:
    """`start_worker(**env)` runs a webhook worker in this process; stopped after the test."""
    running: list[tuple[asyncio.Event, asyncio.Task[int]]] = []

    def start(**extra: str) -> asyncio.Task[int]:
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(settings_for(database_url, redis_url, **extra), stop))
        running.append((stop, task))
        return task

    yield start
    for stop, _ in running:
        stop.set()
    for _, task in running:
        await asyncio.wait_for(task, timeout=30)


@dataclass
class WorkerProc:
    """A `wamesh worker` child process."""

    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def spawn_webhook_worker(
    database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[Callable[..., WorkerProc]]:
    """`spawn_webhook_worker(**env)` starts `wamesh worker` as a process; killed after the test."""
    procs: list[WorkerProc] = []

    def spawn(**extra: str) -> WorkerProc:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "WAMESH_LOG_FORMAT": "text",
            **FAST,
            **extra,
        }
        log = tmp_path / f"webhook-worker-{len(procs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "wamesh", "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        procs.append(WorkerProc(proc, log))
        return procs[-1]

    yield spawn
    for p in procs:
        if p.proc.poll() is None:
            p.proc.kill()
        p.proc.wait(timeout=30)


__all__ = ["LINE_SECRET"]
