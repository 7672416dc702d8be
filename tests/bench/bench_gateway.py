"""Sending through the gateway's REST front against calling the worker's gRPC directly.

Same line, same sandbox worker process, same concurrency, same run: throughput ratio and the
p50/p99 latency of each path. The line has no webhook, so only routing and sending are measured.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp
import grpc.aio

from tests.bench.common import bench_infra, summary
from tests.support.gateway_process import gateway_process
from tests.support.infra import fresh_database, fresh_redis
from tests.support.workers import create_line, spawn_worker, worker_env
from wamesh.v1 import session_pb2, session_pb2_grpc

N = 1500
CONCURRENCY = 20
API_KEY = "bench-key"


async def _run(count: int, send: object) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            started = time.perf_counter()
            await send(n)  # type: ignore[operator]
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started), latencies


async def direct(address: str, line: str, tag: str) -> tuple[float, list[float]]:
    """SendMessage straight to the worker."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = session_pb2_grpc.SessionServiceStub(channel)

        async def send(n: int) -> None:
            await stub.SendMessage(
                session_pb2.SendMessageRequest(
                    session_id=line,
                    to="15550001111",
                    text=f"direct {n}",
                    client_message_id=f"{tag}-{n}",
                )
            )

        return await _run(N, send)


async def through_gateway(base: str, line: str) -> tuple[float, list[float]]:
    """POST /v1/sessions/{id}/messages on the gateway."""
    url = f"{base}/v1/sessions/{line}/messages"
    headers = {"X-Api-Key": API_KEY}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http:

        async def send(n: int) -> None:
            body = {"to": "15550001111", "text": f"gateway {n}", "client_message_id": f"g-{n}"}
            async with http.post(url, json=body, headers=headers) as resp:
                assert resp.status == 201, await resp.text()

        return await _run(N, send)


async def _pair(base: str, line: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            async with http.get(
                f"{base}/v1/sessions/{line}", headers={"X-Api-Key": API_KEY}
            ) as resp:
                if (await resp.json())["live_status"] == "qr":
                    break
            await asyncio.sleep(0.05)
        async with http.post(
            f"{base}/v1/sessions/{line}/sandbox/scan", headers={"X-Api-Key": API_KEY}
        ) as resp:
            assert resp.status == 200, await resp.text()


def main() -> None:
    """Print both paths and the ratio."""
    with bench_infra() as (infra, workdir), fresh_database(infra) as db, fresh_redis(infra) as rds:
        line = create_line(db, webhook_url=None)
        env = {"DATABASE_URL": db, "REDIS_URL": rds, "WAMESH_API_KEY": API_KEY}
        with gateway_process(env, Path(workdir) / "gateway.log") as gateway:
            worker_vars = worker_env(db, rds, Path(workdir), WAMESH_LOG_LEVEL="warning")
            worker = spawn_worker(line, {**os.environ, **worker_vars}, Path(workdir) / "logs")
            try:
                address = worker.wait_registered()
                asyncio.run(_pair(gateway.base_url, line))
                asyncio.run(direct(address, line, "warm-up"))
                direct_rate, direct_lat = asyncio.run(direct(address, line, "direct"))
                gw_rate, gw_lat = asyncio.run(through_gateway(gateway.base_url, line))
            finally:
                worker.kill()
    print(f"send message, {N} sends, concurrency {CONCURRENCY}, one sandbox worker")
    print(f"  worker gRPC, direct : {direct_rate:7.0f} msg/s  {summary(direct_lat)} (baseline)")
    print(f"  gateway REST        : {gw_rate:7.0f} msg/s  {summary(gw_lat)}")
    print(f"  ratio               : {gw_rate / direct_rate:7.2f} (aim: >= 0.5)")


if __name__ == "__main__":
    main()
