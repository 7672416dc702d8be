"""Pool tests reuse the gateway tests' in-process gateway fixtures; `pool_workers` collects
spawned pool workers and kills them at the end."""

from collections.abc import Iterator

import pytest

from tests.gateway.conftest import api, gateway, grpc_channel
from tests.pool.workers import PoolWorker

__all__ = ["api", "gateway", "grpc_channel"]


@pytest.fixture
def pool_workers() -> Iterator[list[PoolWorker]]:
    """Spawned pool workers, killed at the end."""
    spawned: list[PoolWorker] = []
    try:
        yield spawned
    finally:
        for worker in spawned:
            worker.kill()
