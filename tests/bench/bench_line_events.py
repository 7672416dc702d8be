"""One busy line: messages per second with all their events in the outbox, events recorded one
transaction each (WAMESH_EVENT_BATCH_MAX=1, the old way, the baseline) against in batches.

Two sandbox workers of two lines in the same run, one after the other, the same load: N inbound
messages injected (concurrency C), then N sends (each: message.sent and three acks). The clock
stops when every expected row is in `webhook_deliveries`.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import grpc.aio
import psycopg

from tests.bench.common import bench_infra, cpu_s
from tests.support.infra import fresh_database, fresh_redis
from tests.support.workers import create_line, spawn_worker, worker_env
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc

N = int(os.environ.get("BENCH_N", "2000"))
CONCURRENCY = 32


def _rows(db: str, line: str, kind: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM wamesh.webhook_deliveries WHERE session_id = %s AND event_type = %s",
            (line, kind),
        ).fetchone()
    return int(row[0]) if row else 0


async def _until(db: str, line: str, kind: str, count: int) -> None:
    while await asyncio.to_thread(_rows, db, line, kind) < count:
        await asyncio.sleep(0.05)


async def _ready(channel: grpc.aio.Channel, line: str) -> None:
    session = session_pb2_grpc.SessionServiceStub(channel)
    sandbox = session_pb2_grpc.SandboxServiceStub(channel)
    while True:
        status = (await session.GetStatus(session_pb2.GetStatusRequest(session_id=line))).status
        if status == common_pb2.SESSION_STATUS_READY:
            return
        if status == common_pb2.SESSION_STATUS_QR:
            await sandbox.Scan(session_pb2.ScanRequest(session_id=line))
        await asyncio.sleep(0.05)


async def _spread(count: int, one: object) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            await one(queue.get_nowait())  # type: ignore[operator]

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def _measure(address: str, db: str, line: str, pid: int) -> tuple[float, ...]:
    async with grpc.aio.insecure_channel(address) as channel:
        await _ready(channel, line)
        session = session_pb2_grpc.SessionServiceStub(channel)
        sandbox = session_pb2_grpc.SandboxServiceStub(channel)

        async def inbound(n: int) -> None:
            request = session_pb2.InjectInboundRequest(session_id=line, text=f"in {n}")
            setattr(request, "from", "15550002222")  # `from` is a Python keyword
            await sandbox.InjectInbound(request)

        async def send(n: int) -> None:
            await session.SendMessage(
                session_pb2.SendMessageRequest(
                    session_id=line, to="15550001111", text=f"out {n}", client_message_id=f"c{n}"
                )
            )

        started, cpu = time.perf_counter(), cpu_s(pid)
        await _spread(N, inbound)
        await _until(db, line, "message.received", N)
        received = N / (time.perf_counter() - started)
        received_cpu_ms = (cpu_s(pid) - cpu) * 1000 / N
        started, cpu = time.perf_counter(), cpu_s(pid)
        await _spread(N, send)
        await _until(db, line, "message.sent", N)
        await _until(db, line, "message.ack", 3 * N)
        sent = N / (time.perf_counter() - started)
        sent_cpu_ms = (cpu_s(pid) - cpu) * 1000 / N
    return received, sent, received_cpu_ms, sent_cpu_ms


def _run(infra: object, workdir: Path, batch_max: str) -> tuple[float, ...]:
    with fresh_database(infra) as db, fresh_redis(infra) as rds:  # type: ignore[arg-type]
        line = create_line(db, webhook_url="http://127.0.0.1:9/hook")
        env = worker_env(
            db, rds, workdir, WAMESH_EVENT_BATCH_MAX=batch_max, WAMESH_LOG_LEVEL="warning"
        )
        worker = spawn_worker(line, env, workdir / "logs")
        try:
            return asyncio.run(_measure(worker.wait_registered(), db, line, worker.proc.pid))
        finally:
            worker.kill()


def main() -> None:
    """Print messages/s of one line, one transaction per event against batches, same run."""
    with bench_infra() as (infra, workdir):
        one = _run(infra, workdir, "1")
        many = _run(infra, workdir, "200")
    print(f"one line, {N} messages each way, concurrency {CONCURRENCY}, all events in the outbox")
    print("  (worker CPU ms per message: what a free core allows, whatever else the machine runs)")
    for label, (inbound, sent, inbound_ms, sent_ms) in (
        ("one transaction per event (baseline)", one),
        ("batched (WAMESH_EVENT_BATCH_MAX=200) ", many),
    ):
        print(
            f"  {label}: inbound {inbound:5.0f} msg/s ({inbound_ms:.2f} CPU ms/msg), "
            f"sent {sent:5.0f} msg/s ({sent_ms:.2f} CPU ms/msg)"
        )
    print(
        f"  ratio batched/baseline: inbound {many[0] / one[0]:.2f}x, sent {many[1] / one[1]:.2f}x; "
        f"CPU per message inbound {many[2] / one[2]:.2f}x, sent {many[3] / one[3]:.2f}x"
    )


if __name__ == "__main__":
    main()
