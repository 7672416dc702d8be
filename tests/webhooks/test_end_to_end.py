"""A session worker's events reach the line's webhook, signed, through the real queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import grpc.aio
from standardwebhooks import Webhook

from tests.support.workers import (
    LINE_SECRET,
    create_line,
    spawn_worker,
    worker_env,
    worker_processes,
)
from tests.webhooks.conftest import Receiver, WorkerProc
from wamesh.v1 import session_pb2, session_pb2_grpc


async def test_pairing_events_are_delivered_in_order(
    receiver: Receiver,
    spawn_webhook_worker: Callable[..., WorkerProc],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    line = create_line(database_url, webhook_url=receiver.url)
    spawn_webhook_worker()
    with worker_processes() as spawned:
        worker = spawn_worker(
            line, worker_env(database_url, redis_url, tmp_path), tmp_path / "logs"
        )
        spawned.append(worker)
        address = worker.wait_registered()
        async with grpc.aio.insecure_channel(address) as channel:
            await receiver.wait_for(3, timeout=30)
            await session_pb2_grpc.SandboxServiceStub(channel).Scan(
                session_pb2.ScanRequest(session_id=line)
            )
            await receiver.wait_for(4, timeout=30)
            await asyncio.sleep(0.5)
    hook = Webhook(LINE_SECRET)
    events = [hook.verify(r.body, r.headers) for r in receiver.requests]
    statuses = [e["data"]["status"] for e in events if e["type"] == "session.status"]
    assert statuses[:3] == ["starting", "qr", "ready"]
    assert any(e["type"] == "session.qr" for e in events)
    assert all(json.loads(r.body)["session_id"] == line for r in receiver.requests)
