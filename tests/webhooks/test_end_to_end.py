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
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc


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


async def test_pairing_code_reaches_the_webhook_signed(
    receiver: Receiver,
    spawn_webhook_worker: Callable[..., WorkerProc],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    line = create_line(
        database_url, webhook_url=receiver.url, webhook_events=["session.pairing_code"]
    )
    spawn_webhook_worker()
    with worker_processes() as spawned:
        worker = spawn_worker(
            line, worker_env(database_url, redis_url, tmp_path), tmp_path / "logs"
        )
        spawned.append(worker)
        async with grpc.aio.insecure_channel(worker.wait_registered()) as channel:
            session = session_pb2_grpc.SessionServiceStub(channel)
            async with asyncio.timeout(15):
                while (
                    await session.GetStatus(session_pb2.GetStatusRequest(session_id=line))
                ).status != common_pb2.SESSION_STATUS_QR:
                    await asyncio.sleep(0.05)
            reply = await session.RequestPairingCode(
                session_pb2.RequestPairingCodeRequest(session_id=line, phone="+15550001111")
            )
            await receiver.wait_for(1, timeout=30)
    [event] = [Webhook(LINE_SECRET).verify(r.body, r.headers) for r in receiver.requests]
    assert event["type"] == "session.pairing_code"
    assert (event["data"]["code"], event["data"]["phone"]) == (reply.code, "15550001111")
