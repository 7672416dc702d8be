"""A session worker with engine=browser against the stand-in: status path, sends, events,
restore from PostgreSQL after wiping the profile, logout, incompatibility; memory and timing."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.browser.conftest import Standin
from tests.support.browser import chromium_path
from tests.support.session_fixtures import SpawnWorker, Stubs
from wamesh.v1 import common_pb2, session_pb2

pytestmark = pytest.mark.browser


def _browser_env(standin: Standin) -> dict[str, str]:
    return {"WAMESH_WHATSAPP_WEB_URL": standin.url, "WAMESH_CHROMIUM_PATH": chromium_path()}


def _statuses(database_url: str, line: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT payload->'data'->>'status' FROM wamesh.webhook_deliveries "
            "WHERE session_id = %s AND event_type = 'session.status' ORDER BY created_at",
            (line,),
        ).fetchall()
    return [r[0] for r in rows]


def _types(database_url: str, line: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT event_type FROM wamesh.webhook_deliveries WHERE session_id = %s ORDER BY created_at",
            (line,),
        ).fetchall()
    return [r[0] for r in rows]


async def _status(
    stubs: Stubs, line: str, wanted: int, timeout: float = 60
) -> session_pb2.GetStatusResponse:
    async with asyncio.timeout(timeout):
        while True:
            reply = await stubs.session.GetStatus(session_pb2.GetStatusRequest(session_id=line))
            if reply.status == wanted:
                return reply
            await asyncio.sleep(0.1)


def _memory_kib(pid: int, field: str) -> int:
    """`field` (Rss or Pss) of a process and all its descendants, in KiB. Chromium's processes
    share much of their memory, so summed RSS overstates it; PSS splits shared pages fairly."""
    from tests.dev.conftest import descendants

    total = 0
    for p in {pid} | descendants(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class TestBrowserLine:
    """The whole path of a WhatsApp Web line through its worker."""

    async def test_pair_send_receive_restore_logout(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
        standin: Standin,
        tmp_path: Path,
    ) -> None:
        line = make_line(engine="browser")
        started = time.monotonic()
        worker = spawn(line, **_browser_env(standin))
        stubs = connect(worker.wait_registered(timeout=60))
        await _status(stubs, line, common_pb2.SESSION_STATUS_QR)
        to_qr = time.monotonic() - started
        idle = _memory_kib(worker.proc.pid, "Rss"), _memory_kib(worker.proc.pid, "Pss")
        await standin.control("scan")
        ready = await _status(stubs, line, common_pb2.SESSION_STATUS_READY)
        assert ready.me == "15550009999@s.whatsapp.net"
        assert _statuses(database_url, line)[:3] == ["starting", "qr", "ready"]
        ready = _memory_kib(worker.proc.pid, "Rss"), _memory_kib(worker.proc.pid, "Pss")

        sent = await stubs.session.SendMessage(
            session_pb2.SendMessageRequest(
                session_id=line, to="+15550001111", text="from the worker", client_message_id="b-1"
            )
        )
        assert sent.message_id.startswith("3EB0")
        await standin.control("receive", "15550002222@c.us", "hello worker")
        async with asyncio.timeout(20):
            while not {"message.sent", "message.received", "message.ack"} <= set(
                _types(database_url, line)
            ):
                await asyncio.sleep(0.1)

        worker.signal(__import__("signal").SIGTERM)
        assert await asyncio.to_thread(worker.wait, 60) == 0
        shutil.rmtree(tmp_path / "profiles" / line, ignore_errors=True)
        second = spawn(line, **_browser_env(standin))
        stubs = connect(second.wait_registered(timeout=60))
        await _status(stubs, line, common_pb2.SESSION_STATUS_READY)
        assert _statuses(database_url, line)[-2:] == ["starting", "ready"]

        await standin.control("phoneLogout")
        await _status(stubs, line, common_pb2.SESSION_STATUS_LOGGED_OUT)
        with psycopg.connect(database_url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM wamesh.session_auth WHERE session_id = %s", (line,)
            ).fetchone() == (0,)
        print(
            f"\nbrowser worker: start to QR {to_qr:.1f} s; with its Chromium tree, summed RSS / PSS: "
            f"showing a QR {idle[0] / 1024:.0f} / {idle[1] / 1024:.0f} MiB, "
            f"ready {ready[0] / 1024:.0f} / {ready[1] / 1024:.0f} MiB"
        )

    async def test_killed_worker_comes_back_without_a_qr(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
        standin: Standin,
        tmp_path: Path,
    ) -> None:
        line = make_line(engine="browser")
        worker = spawn(line, **_browser_env(standin))
        stubs = connect(worker.wait_registered(timeout=60))
        await _status(stubs, line, common_pb2.SESSION_STATUS_QR)
        await standin.control("scan")
        await _status(stubs, line, common_pb2.SESSION_STATUS_READY)
        await asyncio.sleep(13)  # the save 10 s after ready holds what Chromium wrote lazily
        worker.signal(__import__("signal").SIGKILL)
        await asyncio.to_thread(worker.wait, 30)
        await asyncio.sleep(2)  # its lease (1.5 s in tests) expires
        shutil.rmtree(tmp_path / "profiles" / line, ignore_errors=True)
        second = spawn(line, **_browser_env(standin))
        stubs = connect(second.wait_registered(timeout=60))
        await _status(stubs, line, common_pb2.SESSION_STATUS_READY)
        assert "qr" not in _statuses(database_url, line)[3:]

    async def test_broken_module_fails_the_line_with_engine_incompatible(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
        standin: Standin,
    ) -> None:
        line = make_line(engine="browser")
        stubs = connect(spawn(line, **_browser_env(standin)).wait_registered(timeout=60))
        await _status(stubs, line, common_pb2.SESSION_STATUS_QR)
        await standin.control("breakModule", "WAWebSendMsgChatAction")
        await asyncio.sleep(3)  # loaded lazily by WhatsApp Web: only missed once logged in
        reply = await stubs.session.GetStatus(session_pb2.GetStatusRequest(session_id=line))
        assert reply.status == common_pb2.SESSION_STATUS_QR
        await standin.control("scan")
        failed = await _status(stubs, line, common_pb2.SESSION_STATUS_FAILED)
        assert "engine_incompatible" in failed.last_error
        assert "WAWebSendMsgChatAction" in failed.last_error
