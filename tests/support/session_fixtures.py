"""Fixtures for tests that run session workers: lines, worker processes, gRPC stubs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import grpc.aio
import pytest

from tests.support.workers import WorkerProcess, spawn_worker, worker_env, worker_processes
from wamesh.v1 import mesh_pb2_grpc, session_pb2_grpc

SpawnWorker = Callable[..., WorkerProcess]


@pytest.fixture
def spawn(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[SpawnWorker]:
    """`spawn(session_id, **env)` starts a worker process; all are killed after the test."""
    with worker_processes() as spawned:

        def start(session_id: str, **extra: str) -> WorkerProcess:
            env = worker_env(database_url, redis_url, tmp_path, **extra)
            worker = spawn_worker(session_id, env, tmp_path / "logs")
            spawned.append(worker)
            return worker

        yield start


class Stubs:
    """SessionService, SandboxService and MeshService stubs on one channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.channel = channel
        self.session = session_pb2_grpc.SessionServiceStub(channel)
        self.sandbox = session_pb2_grpc.SandboxServiceStub(channel)
        self.mesh = mesh_pb2_grpc.MeshServiceStub(channel)


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[str], Stubs]]:
    """`connect(address)` opens stubs; channels close after the test."""
    channels: list[grpc.aio.Channel] = []

    def open_stubs(address: str) -> Stubs:
        channel = grpc.aio.insecure_channel(address)
        channels.append(channel)
        return Stubs(channel)

    yield open_stubs
    for channel in channels:
        await channel.close()


@pytest.fixture
def make_line(database_url: str) -> Callable[..., str]:
    """`make_line(**columns)` inserts a line and returns its id."""
    from tests.support.workers import create_line

    def make(**kwargs: object) -> str:
        return create_line(database_url, **kwargs)  # type: ignore[arg-type]

    return make
