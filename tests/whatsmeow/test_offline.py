"""neonize from uv.lock with no network: it never downloads its Go library, its protobuf classes
live beside ours, its calls never starve, and an engine that cannot reach WhatsApp reports
Disconnected, retries with back-off and stops cleanly."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.whatsmeow.conftest import require_netns
from wamesh.engines.base import Disconnected
from wamesh.engines.whatsmeow import executor, store

NO_NETWORK_CLIENT = """
import asyncio, json, neonize, neonize._binder as b, neonize.download as d
from neonize.aioze.client import NewAClient
from neonize.exc import NeonizeError
async def main():
    client = NewAClient(__import__("sys").argv[1], uuid="offline", new_device=True)
    try:
        await (await client.connect())
        error = ""
    except NeonizeError as exc:
        error = str(exc)
    await client.stop()
    print(json.dumps({"go": b.gocode.GetVersion().decode(), "pinned": d.__GONEONIZE_VERSION__,
                      "neonize": neonize.__version__, "error": error}))
asyncio.run(main())
"""


class TestNoDownloadWithoutNetwork:
    """The wheel's Go library is the one neonize wants, so download.py is never reached."""

    def test_import_and_connect_in_a_namespace_without_network(self, tmp_path: Path) -> None:
        require_netns()
        db = tmp_path / "store.db"
        run = subprocess.run(
            ["unshare", "-n", sys.executable, "-c", NO_NETWORK_CLIENT, str(db)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout.strip().splitlines()[-1])
        # _binder.py downloads when the file is missing or GetVersion differs; neither happened.
        assert result["go"] == result["pinned"] == result["neonize"] == "0.5.2"
        assert "network is unreachable" in result["error"]
        assert "downloading" not in run.stderr  # _binder.py's log line before download()
        with sqlite3.connect(db) as conn:  # the store was created: whatsmeow's tables
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "whatsmeow_device" in tables
        assert store.own_device(db) is None


class TestProtobufTogether:
    """Our generated code and neonize's classes both work with the locked protobuf."""

    def test_both_round_trip(self, repo_root: Path) -> None:
        import google.protobuf
        from neonize.proto.Neonize_pb2 import JID
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WaMessage

        from wamesh.v1 import session_pb2

        locked = re.search(
            r'name = "protobuf"\nversion = "([^"]+)"', (repo_root / "uv.lock").read_text()
        )
        assert locked is not None
        assert google.protobuf.__version__ == locked.group(1)
        ours = session_pb2.SendMessageRequest(session_id="s", to="1", text="hi")
        assert session_pb2.SendMessageRequest.FromString(ours.SerializeToString()) == ours
        jid = JID(User="1", RawAgent=0, Device=0, Integrator=0, Server="s.whatsapp.net")
        assert JID.FromString(jid.SerializeToString()) == jid
        theirs = WaMessage(conversation="hi")
        assert WaMessage.FromString(theirs.SerializeToString()).conversation == "hi"


class TestExecutorStarvation:
    """Sessions hold threads for their whole life; calls must still find one."""

    async def _go_call_with(self, pool: ThreadPoolExecutor, held: int) -> bool:
        from neonize.aioze.client import async_gocode

        loop = asyncio.get_running_loop()
        loop.set_default_executor(pool)
        release = threading.Event()
        sessions = [asyncio.to_thread(release.wait) for _ in range(held)]  # as Neonize() does
        tasks = [asyncio.ensure_future(s) for s in sessions]
        await asyncio.sleep(0.2)
        try:
            version = await asyncio.wait_for(async_gocode.GetVersion(), 2)
            return bool(version == b"0.5.2")
        except TimeoutError:
            return False
        finally:
            release.set()
            await asyncio.gather(*tasks)

    async def test_default_sized_pool_starves(self) -> None:
        # asyncio's default: min(32, cpu + 4) threads; 6 on a 2-core host.
        assert not await self._go_call_with(ThreadPoolExecutor(6), held=6)

    async def test_the_engine_pool_serves_calls_beside_many_sessions(self) -> None:
        pool = executor.install(asyncio.get_running_loop())
        assert pool._max_workers == executor.THREADS
        assert await self._go_call_with(pool, held=executor.THREADS - 8)


class TestEngineWithoutWhatsApp:
    """WhatsApp unreachable (dialled through a closed loopback proxy)."""

    async def test_disconnected_with_reason_retries_with_backoff_stops(self, make_engine) -> None:
        engine = make_engine(backoff_min_s=0.2, backoff_max_s=0.8)
        await engine.start(None)
        seen: list[tuple[float, Disconnected]] = []
        async with asyncio.timeout(20):
            while len(seen) < 4:
                event = await engine._queue.get()
                assert isinstance(event, Disconnected)
                seen.append((time.monotonic(), event))
        assert "cannot connect to WhatsApp" in seen[0][1].reason
        assert "127.0.0.1:9" in seen[0][1].reason or "refused" in seen[0][1].reason
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
        assert gaps[0] >= 0.18
        assert gaps[1] >= 0.38  # doubled
        assert store.store_path(engine._config.folder).exists()
        started = time.monotonic()
        await engine.stop()
        assert time.monotonic() - started < 5
        assert not engine._config.folder.exists()  # nothing stays on disk
        assert await engine.export_auth_state() is None  # never paired: nothing to keep
        assert [e async for e in engine.events()] == []  # the stream ended
