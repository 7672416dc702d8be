"""Pool mode with real processes: `wamesh session --pool` workers, a real gateway, PostgreSQL and
Redis (issue 20 item 1, "Checked by").

Three pool workers and five lines wanting workers: three served, none twice, the three that have
waited longest; a served line deleted through the gateway: its worker takes a waiting line
within a lease TTL; a line stopped and started again through the API.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import psycopg

from tests.gateway.conftest import API_KEY
from tests.pool.workers import PoolWorker, served, spawn_pool_worker, wait_until
from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.workers import create_line, worker_env

LEASE_TTL_MS = 1500
LEASE_TTL_S = LEASE_TTL_MS / 1000
POOL_POLL_MS = 1000
START_LIMIT_S = 90.0  # three Python processes starting on a box shared with other work
OBSERVE_S = 3 * LEASE_TTL_S


def _env(database_url: str, redis_url: str, tmp: Path) -> dict[str, str]:
    return worker_env(
        database_url,
        redis_url,
        tmp,
        WAMESH_LEASE_TTL_MS=str(LEASE_TTL_MS),
        WAMESH_POOL_POLL_MS=str(POOL_POLL_MS),
    )


def _lines(database_url: str, count: int) -> list[str]:
    """`count` lines wanting a worker, created one after another (oldest first)."""
    return [create_line(database_url, name=f"pool line {i}") for i in range(count)]


def _column(database_url: str, line_id: str, column: str) -> object:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT {column} FROM wamesh.sessions WHERE id = %s",
            (line_id,),
        ).fetchone()
    return None if row is None else row[0]


def _call(gateway: GatewayProcess, method: str, path: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        gateway.base_url + path, method=method, headers={"X-Api-Key": API_KEY}, data=b""
    )
    with urllib.request.urlopen(request, timeout=20) as resp:
        return resp.status, resp.read()


def _log_out(gateway: GatewayProcess, line: str) -> tuple[int, bytes]:
    """The sandbox phone logs the line out."""
    request = urllib.request.Request(
        f"{gateway.base_url}/v1/sessions/{line}/sandbox/disconnect",
        method="POST",
        headers={"X-Api-Key": API_KEY, "Content-Type": "application/json"},
        data=json.dumps({"logout": True}).encode(),
    )
    with urllib.request.urlopen(request, timeout=20) as resp:
        return resp.status, resp.read()


def _three_of_five(
    database_url: str, redis_url: str, tmp: Path, workers: list[PoolWorker]
) -> list[str]:
    lines = _lines(database_url, 5)
    env = _env(database_url, redis_url, tmp)
    workers.extend(spawn_pool_worker(env, tmp / "logs") for _ in range(3))
    wait_until(lambda: len(served(redis_url)) == 3, START_LIMIT_S, "three lines served", workers)
    return lines


def test_three_pool_workers_serve_three_of_five_lines_none_twice(
    database_url: str, redis_url: str, tmp_path: Path, pool_workers: list[PoolWorker]
) -> None:
    lines = _three_of_five(database_url, redis_url, tmp_path, pool_workers)
    pids = {w.pid for w in pool_workers}
    deadline = time.monotonic() + OBSERVE_S
    observations = 0
    while time.monotonic() < deadline:
        records = served(redis_url)
        assert set(records) == set(lines[:3]), "the three lines that waited longest are served"
        holders = [int(str(r["pid"])) for r in records.values()]
        assert len(set(holders)) == 3, f"one line per worker, none twice: {records}"
        assert set(holders) == pids
        observations += 1
        time.sleep(0.1)
    assert observations > 10
    for line_id in lines[:3]:

        def shows_qr(lid: str = line_id) -> bool:
            return _column(database_url, lid, "status") == "qr"

        wait_until(shows_qr, 30, f"line {line_id} showing a QR", pool_workers)
    for line_id in lines[3:]:
        assert _column(database_url, line_id, "status") not in {"starting", "qr", "ready"}
    for worker in pool_workers:
        assert worker.proc.poll() is None, worker.output()
        assert worker.output().count("pool: serving session") == 1


def test_deleted_line_its_worker_takes_a_waiting_line_within_a_lease_ttl(
    database_url: str, redis_url: str, tmp_path: Path, pool_workers: list[PoolWorker]
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "WAMESH_API_KEY": API_KEY}
    with gateway_process(env, tmp_path / "gateway.log") as gateway:
        lines = _three_of_five(database_url, redis_url, tmp_path, pool_workers)
        before = served(redis_url)
        victim = lines[1]
        pid = int(str(before[victim]["pid"]))
        started = time.monotonic()
        assert _call(gateway, "DELETE", f"/v1/sessions/{victim}")[0] == 204

        def moved() -> bool:
            records = served(redis_url)
            return (
                victim not in records and int(str(records.get(lines[3], {}).get("pid", 0))) == pid
            )

        wait_until(
            moved, LEASE_TTL_S, "the freed worker serving the next waiting line", pool_workers
        )
        took = time.monotonic() - started
        print(f"deleted line's worker took the next waiting line after {took:.2f} s")
        records = served(redis_url)
        assert set(records) == {lines[0], lines[2], lines[3]}
        assert len({r["pid"] for r in records.values()}) == 3


def test_stop_and_start_through_the_api(
    database_url: str, redis_url: str, tmp_path: Path, pool_workers: list[PoolWorker]
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "WAMESH_API_KEY": API_KEY}
    with gateway_process(env, tmp_path / "gateway.log") as gateway:
        lines = _three_of_five(database_url, redis_url, tmp_path, pool_workers)
        status, body = _call(gateway, "POST", f"/v1/sessions/{lines[0]}/stop")
        assert status == 200
        assert json.loads(body)["desired_state"] == "stopped"
        wait_until(
            lambda: set(served(redis_url)) == {lines[1], lines[2], lines[3]},
            LEASE_TTL_S,
            "the stopped line let go, the next waiting one taken",
            pool_workers,
        )
        wait_until(
            lambda: _column(database_url, lines[0], "status") == "stopped",
            10,
            "the stopped line's status written",
        )
        status, body = _call(gateway, "POST", f"/v1/sessions/{lines[0]}/start")
        assert json.loads(body)["desired_state"] == "started"
        # Wanting again, behind line 4, which has waited longer: a fourth worker takes line 4.
        pool_workers.append(spawn_pool_worker(_env(database_url, redis_url, tmp_path), tmp_path))
        wait_until(lambda: lines[4] in served(redis_url), START_LIMIT_S, "line 4", pool_workers)
        assert lines[0] not in served(redis_url)


def test_deleted_without_the_gateway_the_row_check_lets_it_go(
    database_url: str, redis_url: str, tmp_path: Path, pool_workers: list[PoolWorker]
) -> None:
    """The safety net: a line deleted in SQL (no Release call) is let go within the poll."""
    lines = _three_of_five(database_url, redis_url, tmp_path, pool_workers)
    pid = int(str(served(redis_url)[lines[2]]["pid"]))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM wamesh.sessions WHERE id = %s", (lines[2],))

    def moved() -> bool:
        return int(str(served(redis_url).get(lines[3], {}).get("pid", 0))) == pid

    took = wait_until(moved, POOL_POLL_MS / 1000 + LEASE_TTL_S, "row check", pool_workers)
    print(f"line deleted in SQL: its worker took the next waiting line after {took:.2f} s")
    assert lines[2] not in served(redis_url)


def test_a_logged_out_line_stops_wanting_a_worker_and_its_worker_moves_on(
    database_url: str, redis_url: str, tmp_path: Path, pool_workers: list[PoolWorker]
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "WAMESH_API_KEY": API_KEY}
    with gateway_process(env, tmp_path / "gateway.log") as gateway:
        lines = _three_of_five(database_url, redis_url, tmp_path, pool_workers)
        first = lines[0]
        pid = int(str(served(redis_url)[first]["pid"]))
        wait_until(lambda: _column(database_url, first, "status") == "qr", 30, "qr", pool_workers)
        assert _call(gateway, "POST", f"/v1/sessions/{first}/sandbox/scan")[0] == 200
        status, _ = _log_out(gateway, first)
        assert status == 200

        def moved() -> bool:
            return int(str(served(redis_url).get(lines[3], {}).get("pid", 0))) == pid

        wait_until(moved, 10, "the logged-out line's worker serving the next line", pool_workers)
        assert first not in served(redis_url)
        assert _column(database_url, first, "status") == "logged_out"  # not overwritten
        assert _column(database_url, first, "desired_state") == "stopped"
