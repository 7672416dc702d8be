"""`wamesh session --id X` for a whatsmeow line that cannot reach WhatsApp (its proxy is a closed
loopback port): disconnected with the reason within seconds, retries visible, gRPC answering,
SIGTERM exit 0 with status `stopped`."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable

import psycopg

from tests.support.session_fixtures import SpawnWorker, Stubs
from tests.whatsmeow.conftest import CLOSED_PROXY
from wamesh.v1 import common_pb2, session_pb2


def _row(database_url: str, line: str) -> tuple[str, str | None]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT status, last_error FROM wamesh.sessions WHERE id = %s", (line,)
        ).fetchone()
    assert row is not None
    return str(row[0]), row[1]


class TestOfflineWorker:
    """A whatsmeow worker without WhatsApp stays up, says why, and stops cleanly."""

    async def test_disconnected_retries_and_stops(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line(engine="whatsmeow")
        started = time.monotonic()
        worker = spawn(line, WAMESH_WHATSMEOW_PROXY=CLOSED_PROXY)
        stubs = connect(worker.wait_registered(timeout=60))
        request = session_pb2.GetStatusRequest(session_id=line)
        async with asyncio.timeout(30):
            while (await stubs.session.GetStatus(request)).status != (
                common_pb2.SESSION_STATUS_DISCONNECTED
            ):
                await asyncio.sleep(0.1)
        to_disconnected = time.monotonic() - started
        status, reason = _row(database_url, line)
        assert status == "disconnected"
        assert reason is not None
        assert "cannot connect to WhatsApp" in reason
        async with asyncio.timeout(20):
            while worker.output().count("trying again in") < 3:
                await asyncio.sleep(0.2)
        assert "trying again in 1 s" in worker.output()
        assert "trying again in 2 s" in worker.output()
        worker.signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 30) == 0
        assert _row(database_url, line)[0] == "stopped"
        assert "Traceback" not in worker.output()
        print(f"\nwhatsmeow worker: start to disconnected {to_disconnected:.1f} s")
