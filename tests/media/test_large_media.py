"""100 MiB through a real gateway process: uploaded and downloaded whole, while the gateway's
resident memory grows by less than 20 MiB (the body is streamed, never held; neither does the
test hold it: it is generated and hashed on the fly)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.gateway.conftest import API_KEY
from tests.media.conftest import generated, sha256_of_generated
from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.memory import reset_peak, status_kib

SIZE = 100 * 1024 * 1024
GROWTH_LIMIT_KIB = 20 * 1024


@pytest.fixture
def running(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "WAMESH_API_KEY": API_KEY}
    with gateway_process(env, tmp_path / "gateway.log") as gateway:
        yield gateway


async def test_100_mib_round_trip_in_little_memory(
    running: GatewayProcess, make_line: Callable[..., str]
) -> None:
    line = make_line()
    headers = {"X-Api-Key": API_KEY}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.get(running.base_url + "/readyz", headers=headers) as resp:
            assert resp.status == 200  # warmed up: pool and Redis connected
        # Reset the peak to now, so VmHWM below is the peak of this round trip only.
        reset_peak(running.proc.pid)
        before = status_kib(running.proc.pid, "VmRSS")
        async with http.post(
            f"{running.base_url}/v1/sessions/{line}/media",
            data=generated(SIZE),
            headers={**headers, "Content-Type": "video/mp4"},
            params={"filename": "big.mp4"},
        ) as resp:
            reply = await resp.json()
            assert resp.status == 201, reply
        assert (reply["size"], reply["sha256"]) == (SIZE, sha256_of_generated(SIZE))

        digest, received = hashlib.sha256(), 0
        async with http.get(running.base_url + reply["url"], headers=headers) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Length"] == str(SIZE)
            async for piece in resp.content.iter_chunked(256 * 1024):
                digest.update(piece)
                received += len(piece)
        assert (received, digest.hexdigest()) == (SIZE, reply["sha256"])

    peak = status_kib(running.proc.pid, "VmHWM")
    print(f"gateway RSS before {before} KiB, peak during the round trip {peak} KiB")
    assert peak - before < GROWTH_LIMIT_KIB, f"RSS grew from {before} KiB to a peak of {peak} KiB"
