"""Every role works through PgBouncer in transaction mode (what Supabase's pooler on port 6543 is):
migrations, the gateway, a session worker, its reminders and the webhook worker, with no error."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import psycopg

from tests.gateway.conftest import MESH_TOKEN, Api, gateway_settings, scan
from tests.support.pgbouncer import PgBouncer
from tests.support.workers import spawn_worker, worker_env, worker_processes
from tests.webhooks.conftest import Receiver, WorkerProc
from wamesh.db.migrate import load_migrations, migrate
from wamesh.gateway.app import running_gateway

MESSAGES = 30
TROUBLE = ("Traceback", "ERROR", "prepared statement", "does not exist", "unavailable")
THROUGH_THE_POOLER = {"WAMESH_DB_PREPARE": "off", "REMINDER_POLL_MS": "60000"}


def _pending(database_url: str, line: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM wamesh.webhook_deliveries WHERE session_id = %s "
            "AND status <> 'delivered'",
            (line,),
        ).fetchone()
    return int(row[0]) if row else -1


def _delivered(database_url: str, line: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM wamesh.webhook_deliveries WHERE session_id = %s "
            "AND status = 'delivered'",
            (line,),
        ).fetchone()
    return int(row[0]) if row else -1


class TestTransactionModePooler:
    """Nothing of ours keeps session state across transactions."""

    async def test_migrations_run_through_the_pooler_and_twice_at_once(
        self, pgbouncer: PgBouncer, empty_database_url: str
    ) -> None:
        url = pgbouncer.url_for(empty_database_url)
        runs = await asyncio.gather(*(migrate(url) for _ in range(3)))
        assert sorted(len(r) for r in runs) == [0, 0, len(load_migrations())]
        assert await migrate(url) == []

    async def test_gateway_worker_reminders_and_webhooks_through_pgbouncer(
        self,
        pgbouncer: PgBouncer,
        database_url: str,
        redis_url: str,
        receiver: Receiver,
        spawn_webhook_worker: Callable[..., WorkerProc],
        tmp_path: Path,
    ) -> None:
        pooled = pgbouncer.url_for(database_url)
        hooks = spawn_webhook_worker(DATABASE_URL=pooled, **THROUGH_THE_POOLER)
        settings = gateway_settings(pooled, redis_url, **THROUGH_THE_POOLER)
        with worker_processes() as spawned:
            async with running_gateway(settings) as gw, aiohttp.ClientSession() as http:
                api = Api(http, f"http://127.0.0.1:{gw.http_port}")
                status, created = await api.call(
                    "POST", "/v1/sessions", {"name": "pooled", "webhook_url": receiver.url}
                )
                assert status == 201, created
                line = str(created["session"]["id"])
                env = worker_env(
                    pooled, redis_url, tmp_path, WAMESH_MESH_TOKEN=MESH_TOKEN, **THROUGH_THE_POOLER
                )
                worker = spawn_worker(line, env, tmp_path / "logs")
                spawned.append(worker)
                worker.wait_registered()
                await scan(api, line)
                sends = [
                    api.call(
                        "POST",
                        f"/v1/sessions/{line}/messages",
                        {"to": "15550001111", "text": f"pooled {n}"},
                    )
                    for n in range(MESSAGES)
                ]
                assert {s for s, _ in await asyncio.gather(*sends)} == {201}
                started = time.monotonic()
                status, reminder = await api.call(
                    "POST",
                    f"/v1/sessions/{line}/reminders",
                    {"recipient": "15550001111", "text": "due now", "delay_seconds": 0},
                )
                assert status == 201, reminder
                path = f"/v1/sessions/{line}/reminders/{reminder['id']}"
                async with asyncio.timeout(2):
                    while (await api.call("GET", path))[1]["status"] != "sent":
                        await asyncio.sleep(0.02)
                print(f"\nreminder due now sent after {time.monotonic() - started:.2f} s")
                async with asyncio.timeout(60):
                    while _pending(database_url, line) or not _delivered(database_url, line):
                        await asyncio.sleep(0.1)
        # starting, qr, QR codes, ready, one message.sent per send, acks, reminder.sent
        assert _delivered(database_url, line) >= MESSAGES + 4
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == _delivered(
            database_url, line
        )
        logs = {"session worker": worker.output(), "webhook worker": hooks.output()}
        for role, text in logs.items():
            found = [t for t in TROUBLE if t in text]
            assert not found, f"{role} logged {found}:\n{text[-3000:]}"
