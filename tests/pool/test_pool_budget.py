"""Issue 16's budget holds in pool mode: a serving and an idle pool worker each hold one Redis
connection (the idle one's wake-up BLPOP rides on it) and one PostgreSQL connection while idle.
The idle worker's CPU over the window is printed beside the serving one's (measured, not
asserted)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.pool.test_pool import _env
from tests.pool.workers import PoolWorker, served, spawn_pool_worker, wait_until
from tests.support.connections import pg_connections, redis_connections
from tests.support.workers import create_line

POOL_NAME = "wamesh-session-pool"
WINDOW_S = 6.0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_serving_and_idle_pool_workers_stay_in_budget(
    database_url: str, redis_url: str, tmp_path: Path, pool_workers: list[PoolWorker]
) -> None:
    line = create_line(database_url)
    env = _env(database_url, redis_url, tmp_path)
    pool_workers.extend(spawn_pool_worker(env, tmp_path / "logs") for _ in range(2))
    wait_until(lambda: line in served(redis_url), 90, "the line served", pool_workers)
    time.sleep(2)  # the idle one reaches its wait
    serving = int(str(served(redis_url)[line]["pid"]))
    [idle] = [w for w in pool_workers if w.pid != serving]
    start_cpu, start_serving = _cpu_s(idle.pid), _cpu_s(serving)
    deadline = time.monotonic() + WINDOW_S
    redis_peak = pg_peak = 0
    while time.monotonic() < deadline:
        redis_peak = max(redis_peak, redis_connections(redis_url, POOL_NAME, this_db=True))
        pg_peak = max(pg_peak, pg_connections(database_url, POOL_NAME))
        time.sleep(0.2)
    idle_cpu = _cpu_s(idle.pid) - start_cpu
    serving_cpu = _cpu_s(serving) - start_serving
    print(
        f"over {WINDOW_S:.0f} s: idle pool worker {idle_cpu:.3f} CPU-s, "
        f"the worker serving an idle line (baseline) {serving_cpu:.3f} CPU-s"
    )
    assert redis_peak == 2, "one Redis connection per pool worker"
    assert pg_peak <= 2, "one idle PostgreSQL connection per pool worker"
    assert idle.proc.poll() is None
