"""A session worker serves `/metrics` only when WAMESH_METRICS_PORT asks, logs its line id, and
each restart shows in the gateway's worker restart counter."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from pathlib import Path

from tests.metrics.conftest import Samples, scrape, value
from tests.support.workers import create_line, spawn_worker, worker_env, worker_processes
from wamesh.gateway.app import RunningGateway


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _status_seen(url: str, line: str, status: str, timeout: float = 20) -> Samples:
    async with asyncio.timeout(timeout):
        while True:
            samples = await scrape(url)
            if value(samples, "wamesh_line_status", line_id=line, status=status) == 1:
                return samples
            await asyncio.sleep(0.1)


class TestSessionWorkerMetrics:
    """The opt-in port shows the line's live status and the process's own figures."""

    async def test_metrics_port_logs_and_restarts(
        self, gateway: RunningGateway, database_url: str, redis_url: str, tmp_path: Path
    ) -> None:
        line = create_line(database_url)
        port = _free_port()
        env = worker_env(
            database_url,
            redis_url,
            tmp_path,
            WAMESH_METRICS_PORT=str(port),
            WAMESH_LOG_FORMAT="json",
        )
        with worker_processes() as spawned:
            worker = spawn_worker(line, env, tmp_path / "logs")
            spawned.append(worker)
            worker.wait_registered()
            samples = await _status_seen(f"http://127.0.0.1:{port}/metrics", line, "qr")
            assert value(samples, "wamesh_line_status", line_id=line, status="ready") == 0
            assert value(samples, "process_resident_memory_bytes") > 10_000_000
            assert value(samples, "process_cpu_seconds_total") > 0
            worker.signal(signal.SIGTERM)
            assert worker.wait() == 0
            logged = [json.loads(x) for x in worker.output().splitlines() if x.startswith("{")]
            assert logged
            assert all(entry.get("line_id") == line for entry in logged)
            again = spawn_worker(
                line, worker_env(database_url, redis_url, tmp_path), tmp_path / "logs2"
            )
            spawned.append(again)
            again.wait_registered()
        await asyncio.sleep(5.1)  # the gateway's gauges are cached for 5 s
        samples = await scrape(f"http://127.0.0.1:{gateway.http_port}/metrics")
        assert value(samples, "wamesh_worker_restarts_total") == 1
