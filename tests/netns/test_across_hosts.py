"""Across hosts (issue 20 item 4): the gateway and pool session workers on three network
namespaces (tests/netns/hosts.py), each worker advertising its own address; PostgreSQL and Redis
stay in the root namespace, reached over the veth.

Host A runs two pool workers (one ends up idle), host B one; two lines. Calls route across
hosts to both. Host B is then killed (its worker SIGKILLed, its veth down: no refusal, so the
line waits for the lease to expire): its line moves to host A's idle pool worker, comes back
`ready` from its auth state in PostgreSQL, and routes there. Nothing lost: every send answered
with an id is in `sent_messages`, every injected inbound message has its `message.received`
outbox row, before and after the move.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.netns.hosts import NetnsUnavailable, Segment, forward, segment
from tests.pool.workers import PoolWorker, served, spawn_pool_worker, wait_until
from tests.support.workers import worker_env

API_KEY = "netns-test-key"
MESH_TOKEN = "netns-mesh-token"
LEASE_TTL_MS = 3000
POOL_POLL_MS = 1000
HTTP_PORT = 8080  # inside the gateway's own namespace: nothing else listens there
PG_FORWARD_PORT, REDIS_FORWARD_PORT = 15432, 16379
CONTACT = "4915112345678@s.whatsapp.net"
HOOK = "http://127.0.0.1:9/hook"  # never called: no webhook worker runs; its outbox rows count
PER_ROUND = 5
START_LIMIT_S = 90.0
# The lease's expiry, one poll, the takeover probe's timeout on the unplugged holder (1 s), and
# room for a loaded machine: the figure is printed, not asserted.
MOVE_LIMIT_S = LEASE_TTL_MS / 1000 + POOL_POLL_MS / 1000 + 1 + 20


def _via(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}:{port}"))


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


class Api:
    """The gateway's REST, from the root namespace over the veth."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=data,
            headers={"X-Api-Key": API_KEY, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def hosts() -> Iterator[Segment]:
    """Three hosts: gw, a, b. Fails (never skips) when namespaces cannot be made here."""
    try:
        with segment(["gw", "a", "b"]) as made:
            yield made
    except NetnsUnavailable as exc:
        pytest.fail(f"the across-hosts test needs network namespaces: {exc}")


def _wait_port(address: str, port: int, limit_s: float = 10) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address, port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {address}:{port}")


def _spawn_gateway(hosts: Segment, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*hosts.exec_prefix(_host(hosts, "gw")), sys.executable, "-m", "wamesh", "gateway"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop_gateway(gateway: subprocess.Popen[bytes]) -> None:
    if gateway.poll() is None:
        gateway.kill()
    gateway.wait(timeout=30)


def _kill_all(workers: list[PoolWorker]) -> None:
    for worker in workers:
        worker.kill()


def _host(hosts: Segment, short: str) -> str:
    return f"w{hosts.tag}{short}"


def _count(database_url: str, sql: str, line: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(sql, (line,)).fetchone()
    assert row is not None
    return int(row[0])


RECEIVED = (
    "SELECT count(*) FROM wamesh.webhook_deliveries "
    "WHERE session_id = %s AND event_type = 'message.received'"
)
SENT = "SELECT count(*) FROM wamesh.sent_messages WHERE session_id = %s"
AUTH = "SELECT count(*) FROM wamesh.session_auth WHERE session_id = %s"


def _traffic(api: Api, line: str, round_: int) -> None:
    """PER_ROUND sends and PER_ROUND inbound messages through the gateway, each answered."""
    for i in range(PER_ROUND):
        status, reply = api.call(
            "POST",
            f"/v1/sessions/{line}/messages",
            {"to": "+4915112345678", "text": f"round {round_} send {i}"},
        )
        assert status in (200, 201), reply
        status, reply = api.call(
            "POST",
            f"/v1/sessions/{line}/sandbox/inbound",
            {"from": CONTACT, "type": "text", "text": f"round {round_} inbound {i}"},
        )
        assert status == 201, reply


def _is_live(api: Api, line: str, wanted: str) -> bool:
    return _live(api, line) == wanted


def _counted(database_url: str, sql: str, line: str, expected: int) -> bool:
    return _count(database_url, sql, line) == expected


def _live(api: Api, line: str) -> str | None:
    status, reply = api.call("GET", f"/v1/sessions/{line}")
    return reply.get("live_status") if status == 200 else None


def test_lines_route_across_hosts_and_move_when_a_host_dies(
    hosts: Segment, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    root = hosts.root_address
    db = _via(database_url, root, PG_FORWARD_PORT)
    rds = _via(redis_url, root, REDIS_FORWARD_PORT)
    gw_address = hosts.hosts[_host(hosts, "gw")]
    workers: list[PoolWorker] = []
    with ExitStack() as stack:
        stack.enter_context(forward(root, PG_FORWARD_PORT, _port(database_url)))
        stack.enter_context(forward(root, REDIS_FORWARD_PORT, _port(redis_url)))
        _wait_port(root, PG_FORWARD_PORT)
        _wait_port(root, REDIS_FORWARD_PORT)
        gateway_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": db,
            "REDIS_URL": rds,
            "WAMESH_API_KEY": API_KEY,
            "WAMESH_MESH_TOKEN": MESH_TOKEN,
            "WAMESH_GATEWAY_HTTP_HOST": gw_address,
            "WAMESH_GATEWAY_HTTP_PORT": str(HTTP_PORT),
            "WAMESH_GRPC_BIND_HOST": gw_address,
            "WAMESH_LOG_LEVEL": "warning",
            "WEBHOOK_ALLOW_PRIVATE": "true",
        }
        gateway = _spawn_gateway(hosts, gateway_env, tmp_path / "gateway.log")
        stack.callback(_stop_gateway, gateway)
        stack.callback(_kill_all, workers)
        _wait_port(gw_address, HTTP_PORT, 60)
        api = Api(f"http://{gw_address}:{HTTP_PORT}")

        def pool_worker(short: str) -> PoolWorker:
            address = hosts.hosts[_host(hosts, short)]
            env = worker_env(
                db,
                rds,
                tmp_path,
                WAMESH_GRPC_BIND_HOST=address,
                WAMESH_ADVERTISE_HOST="auto",  # must come out as this host's own address
                WAMESH_MESH_TOKEN=MESH_TOKEN,
                WAMESH_LEASE_TTL_MS=str(LEASE_TTL_MS),
                WAMESH_POOL_POLL_MS=str(POOL_POLL_MS),
            )
            prefix = hosts.exec_prefix(_host(hosts, short))
            worker = spawn_pool_worker(env, tmp_path / "logs", prefix, name=f"host-{short}")
            workers.append(worker)
            return worker

        lines = []
        for name in ("line on a", "line on b"):
            body = {"name": name, "engine": "sandbox", "webhook_url": HOOK}
            status, created = api.call("POST", "/v1/sessions", body)
            assert status == 201, created
            lines.append(created["session"]["id"])
        a1 = pool_worker("a")
        wait_until(lambda: len(served(redis_url)) == 1, START_LIMIT_S, "host a serving", workers)
        b1 = pool_worker("b")
        wait_until(lambda: len(served(redis_url)) == 2, START_LIMIT_S, "host b serving", workers)
        a2 = pool_worker("a")  # idle: waits for a line
        records = served(redis_url)
        on_a = next(sid for sid, r in records.items() if r["pid"] != b1.pid)
        on_b = next(sid for sid, r in records.items() if r["pid"] == b1.pid)
        address_a, address_b = (hosts.hosts[_host(hosts, s)] for s in ("a", "b"))
        assert str(records[on_a]["address"]).startswith(f"{address_a}:")
        assert str(records[on_b]["address"]).startswith(f"{address_b}:")
        assert records[on_a]["pid"] == a1.pid

        for line in (on_a, on_b):
            wait_until(functools.partial(_is_live, api, line, "qr"), 30, f"{line} qr", workers)
            status, reply = api.call("POST", f"/v1/sessions/{line}/sandbox/scan")
            assert (status, reply["status"]) == (200, "ready"), reply
            _traffic(api, line, 1)
        wait_until(lambda: _count(database_url, AUTH, on_b) == 1, 30, "b's auth state saved")

        started = time.monotonic()
        os.killpg(b1.proc.pid, signal.SIGKILL)
        hosts.unplug(_host(hosts, "b"))
        b1.proc.wait(timeout=30)

        def moved() -> bool:
            record = served(redis_url).get(on_b)
            return record is not None and record["pid"] == a2.pid

        wait_until(moved, MOVE_LIMIT_S, "line moved", workers[:1])
        moved_s = time.monotonic() - started
        assert str(served(redis_url)[on_b]["address"]).startswith(f"{address_a}:")
        wait_until(lambda: _live(api, on_b) == "ready", 30, "moved line ready again", workers[:1])
        ready_s = time.monotonic() - started
        print(
            f"host b killed: its line taken by host a after {moved_s:.2f} s, ready {ready_s:.2f} s"
        )
        _traffic(api, on_b, 2)
        _traffic(api, on_a, 2)

        for line in (on_a, on_b):
            expected = 2 * PER_ROUND
            wait_until(
                functools.partial(_counted, database_url, RECEIVED, line, expected),
                30,
                f"{line}: every inbound message's event recorded",
            )
            assert _count(database_url, SENT, line) == expected
            assert _count(database_url, RECEIVED, line) == expected
        assert a1.proc.poll() is None
        assert a2.proc.poll() is None
