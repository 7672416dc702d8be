"""The whole mesh in a schema of another name (WAMESH_DB_SCHEMA), through PgBouncer in transaction
mode, as the non-owner login role: nothing names `wamesh` or relies on `search_path`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.gateway.conftest import MESH_TOKEN, Api, gateway_settings, scan
from tests.supabase.conftest import Project, run
from tests.support.pgbouncer import PgBouncer
from tests.support.workers import spawn_worker, worker_env, worker_processes
from tests.webhooks.conftest import FAST, Receiver
from wamesh.gateway.app import running_gateway

SCHEMA = "lines_x"
POOLED = {"WAMESH_DB_SCHEMA": SCHEMA, "WAMESH_DB_PREPARE": "off"}
TROUBLE = ("Traceback", "ERROR", "does not exist", "permission denied")


def _webhook_worker(url: str, redis_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "WAMESH_LOG_FORMAT": "text",
        **FAST,
        **POOLED,
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "wamesh", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class TestAnotherSchema:
    """Gateway, session worker, reminders and webhook worker all work in `lines_x`."""

    async def test_the_mesh_runs_in_its_schema_through_the_pooler(
        self,
        project: Project,
        pgbouncer: PgBouncer,
        redis_url: str,
        receiver: Receiver,
        tmp_path: Path,
    ) -> None:
        await project.migrate(SCHEMA)
        project.grant(schema=SCHEMA)
        assert project.owner("SELECT to_regnamespace('wamesh')") == [(None,)]
        pooled = pgbouncer.url_for(project.app_url)
        hooks = _webhook_worker(pooled, redis_url, tmp_path / "webhook-worker.log")
        try:
            with worker_processes() as spawned:
                settings = gateway_settings(pooled, redis_url, **POOLED)
                async with running_gateway(settings) as gw, aiohttp.ClientSession() as http:
                    api = Api(http, f"http://127.0.0.1:{gw.http_port}")
                    status, created = await api.call(
                        "POST", "/v1/sessions", {"name": "own schema", "webhook_url": receiver.url}
                    )
                    assert status == 201, created
                    line = str(created["session"]["id"])
                    env = worker_env(
                        pooled, redis_url, tmp_path, WAMESH_MESH_TOKEN=MESH_TOKEN, **POOLED
                    )
                    spawned.append(worker := spawn_worker(line, env, tmp_path / "logs"))
                    worker.wait_registered()
                    await scan(api, line)
                    sent = await api.call(
                        "POST", f"/v1/sessions/{line}/messages", {"to": "15550001111", "text": "x"}
                    )
                    assert sent[0] == 201, sent
                    status, reminder = await api.call(
                        "POST",
                        f"/v1/sessions/{line}/reminders",
                        {"recipient": "15550001111", "text": "due now", "delay_seconds": 0},
                    )
                    assert status == 201, reminder
                    path = f"/v1/sessions/{line}/reminders/{reminder['id']}"
                    async with asyncio.timeout(10):
                        while (await api.call("GET", path))[1]["status"] != "sent":
                            await asyncio.sleep(0.05)
                    # Other events (status, qr, message.sent, acks) may arrive first: wait for
                    # the reminder's own delivery, not for a count.
                    async with asyncio.timeout(30):
                        while not any(b'"reminder.sent"' in r.body for r in receiver.requests):
                            await asyncio.sleep(0.05)
                    status, log = await api.call("GET", f"/v1/sessions/{line}/deliveries")
                    assert status == 200, log
                    assert any(d["status"] == "delivered" for d in log["deliveries"]), log
            types = {r.body for r in receiver.requests}
            assert any(b'"reminder.sent"' in body for body in types)
            rows = run(project.owner_url, f"SELECT status, me IS NOT NULL FROM {SCHEMA}.sessions")
            assert rows in ([("ready", True)], [("stopped", True)])
            assert project.owner("SELECT count(*) FROM public.sessions") == [(0,)]
            for role, text in (
                ("session worker", worker.output()),
                ("webhook", hooks_log(tmp_path)),
            ):
                found = [t for t in TROUBLE if t in text]
                assert not found, f"{role} logged {found}:\n{text[-3000:]}"
        finally:
            hooks.kill()
            hooks.wait(timeout=30)


def hooks_log(tmp_path: Path) -> str:
    """What the webhook worker logged."""
    return (tmp_path / "webhook-worker.log").read_text(errors="replace")
