"""Fixtures for gateway tests: an in-process gateway on free ports, an HTTP client, workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc.aio
import pytest

from tests.support.workers import WorkerProcess, spawn_worker, worker_env, worker_processes
from wamesh.gateway.app import RunningGateway, running_gateway
from wamesh.settings import Settings

API_KEY = "test-api-key-0123456789"
MESH_TOKEN = "test-mesh-token"


def gateway_settings(database_url: str, redis_url: str, **extra: str) -> Settings:
    """Settings of a test gateway: free ports, an API key, a mesh token."""
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WAMESH_API_KEY": API_KEY,
        "WAMESH_MESH_TOKEN": MESH_TOKEN,
        "WAMESH_GATEWAY_HTTP_PORT": "0",
        "WAMESH_GATEWAY_GRPC_PORT": "0",
        "WAMESH_LEASE_TTL_MS": "1500",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        **extra,
    }
    return Settings.from_env(env)


@pytest.fixture
async def gateway(database_url: str, redis_url: str) -> AsyncIterator[RunningGateway]:
    """A running gateway."""
    async with running_gateway(gateway_settings(database_url, redis_url)) as running:
        yield running


class Api:
    """A JSON client of the gateway's REST front, with the API key."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.http = session
        self.base = base
        self.headers = {"X-Api-Key": API_KEY}

    async def call(
        self, method: str, path: str, body: Any = None, **kwargs: Any
    ) -> tuple[int, Any]:
        """Send and return (status, parsed JSON or text)."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        async with self.http.request(
            method, self.base + path, json=body, headers=headers, **kwargs
        ) as resp:
            if resp.content_type in ("application/json", "application/problem+json"):
                return resp.status, await resp.json(content_type=None)
            return resp.status, await resp.read()


@pytest.fixture
async def api(gateway: RunningGateway) -> AsyncIterator[Api]:
    """A client of the running gateway."""
    async with aiohttp.ClientSession() as session:
        yield Api(session, f"http://127.0.0.1:{gateway.http_port}")


@pytest.fixture
def spawn(
    database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """`spawn(session_id, **env)` starts a worker (with the gateway's mesh token)."""
    with worker_processes() as spawned:

        def start(session_id: str, **extra: str) -> WorkerProcess:
            env = worker_env(
                database_url, redis_url, tmp_path, WAMESH_MESH_TOKEN=MESH_TOKEN, **extra
            )
            worker = spawn_worker(session_id, env, tmp_path / "logs")
            spawned.append(worker)
            return worker

        yield start


@pytest.fixture
async def grpc_channel(gateway: RunningGateway) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to the gateway's gRPC front."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
        yield channel


GRPC_AUTH = (("x-api-key", API_KEY),)


async def wait_live(api: Api, line: str, wanted: str, timeout: float = 15) -> dict[str, Any]:
    """Wait until the line's worker reports `wanted`; return the line."""
    async with asyncio.timeout(timeout):
        while True:
            status, reply = await api.call("GET", f"/v1/sessions/{line}")
            if status == 200 and reply["live_status"] == wanted:
                return dict(reply)
            await asyncio.sleep(0.05)


async def scan(api: Api, line: str) -> None:
    """Wait for the line's QR code and scan it with the sandbox phone."""
    await wait_live(api, line, "qr")
    status, reply = await api.call("POST", f"/v1/sessions/{line}/sandbox/scan")
    assert (status, reply["status"]) == (200, "ready"), reply
