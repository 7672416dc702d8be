"""A real gateway process and a real sandbox line's worker process, the line scanned (ready), with
real ids of what a fuzzer's path parameters may name: a sent and a received message, their chat,
a group, a stored medium, a reminder and a webhook delivery.

Used by the schemathesis run (tests/gateway/test_schemathesis.py), which calls the gateway
synchronously, so everything here is a process and every call a blocking HTTP request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.workers import WorkerProcess, spawn_worker, worker_env, worker_processes

API_KEY = "fuzz-api-key-0123456789"
MESH_TOKEN = "fuzz-mesh-token"
CONTACT = "15557654321"
READY_WITHIN_S = 30.0


@dataclass
class ReadyLine:
    """The gateway, the line's worker and the ids a request may name (path parameter -> id)."""

    gateway: GatewayProcess
    worker: WorkerProcess
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """The gateway's REST base URL."""
        return self.gateway.base_url

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request with the API key."""
        headers = {"X-Api-Key": API_KEY, **kwargs.pop("headers", {})}
        return requests.request(method, self.base_url + path, headers=headers, timeout=10, **kwargs)

    def expect(self, status: int, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A request that must answer `status`; its JSON body."""
        resp = self.call(method, path, **kwargs)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text)
        body: dict[str, Any] = resp.json()
        return body


def _wait_status(line: ReadyLine, wanted: str) -> None:
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        reply = line.call("GET", f"/v1/sessions/{line.ids['id']}")
        if reply.status_code == 200 and reply.json()["live_status"] == wanted:
            return
        time.sleep(0.05)
    raise AssertionError(f"line not {wanted} within {READY_WITHIN_S} s:\n{line.worker.output()}")


def _seed(line: ReadyLine) -> None:
    """Make the line ready and fill `line.ids` with real ids of each kind."""
    base = f"/v1/sessions/{line.ids['id']}"
    _wait_status(line, "qr")
    line.expect(200, "POST", base + "/sandbox/scan")
    _wait_status(line, "ready")
    sent = line.expect(201, "POST", base + "/messages", json={"to": CONTACT, "text": "hello"})
    received = line.expect(
        201, "POST", base + "/sandbox/inbound", json={"from": CONTACT, "text": "hi"}
    )
    group = line.expect(201, "POST", base + "/sandbox/groups", json={"subject": "fuzz"})
    media = line.expect(
        201,
        "POST",
        base + "/media?filename=a.txt",
        data=b"hello",
        headers={"Content-Type": "text/plain"},
    )
    reminder = line.expect(
        201,
        "POST",
        base + "/reminders",
        json={"recipient": CONTACT, "text": "later", "delay_seconds": 86400},
    )
    poll = {"question": "when?", "options": ["now", "later"]}
    asked = line.expect(201, "POST", base + "/messages", json={"to": CONTACT, "poll": poll})
    deliveries = line.expect(200, "GET", base + "/deliveries")["deliveries"]
    assert deliveries, "the line's events should have made webhook deliveries"
    line.ids.update(
        message_id=sent["message_id"],
        chat_id=sent["chat_id"],
        contact=CONTACT,
        group_id=group["group_id"],
        media_id=media["media_id"],
        rid=reminder["id"],
        did=deliveries[0]["id"],
    )
    line.ids.update(
        received_message_id=received["message"]["id"],
        poll_id=asked["message_id"],
        name="app.css",  # a dashboard asset (GET /ui/{name})
    )


@contextmanager
def ready_line(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[ReadyLine]:
    """A gateway (dev mode, so /dev routes are there too) and a ready sandbox line."""
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WAMESH_API_KEY": API_KEY,
        "WAMESH_MESH_TOKEN": MESH_TOKEN,
        "WAMESH_DEV": "true",
        "WAMESH_LEASE_TTL_MS": "1500",
    }
    with gateway_process(env, tmp_path / "gateway.log") as gateway, worker_processes() as spawned:
        created = requests.post(
            gateway.base_url + "/v1/sessions",
            json={"name": "fuzzed line", "webhook_url": "http://127.0.0.1:9/hook"},
            headers={"X-Api-Key": API_KEY},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        line_id = created.json()["session"]["id"]
        worker_vars = worker_env(
            database_url,
            redis_url,
            tmp_path,
            WAMESH_MESH_TOKEN=MESH_TOKEN,
            WAMESH_SANDBOX_QR_MAX_ROTATIONS="100",
        )
        worker = spawn_worker(line_id, worker_vars, tmp_path / "logs")
        spawned.append(worker)
        worker.wait_registered()
        line = ReadyLine(gateway, worker, {"id": line_id})
        _seed(line)
        yield line
