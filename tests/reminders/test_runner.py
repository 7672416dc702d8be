"""Reminders are sent by the line's own worker: all of them, once each, in due order, only when ready."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import grpc
import grpc.aio
import psycopg
import pytest
import redis

from tests.support.session_fixtures import SpawnWorker, Stubs
from tests.support.workers import WorkerProcess
from wamesh.v1 import common_pb2, mesh_pb2, session_pb2


def _insert_due(database_url: str, line: str, count: int, *, offset_s: float = -5.0) -> None:
    """`count` reminders due in quick succession (1 ms apart), all due now."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wamesh.reminders (id, series_id, session_id, recipient, text, due_at) "
            "SELECT g.id, g.id, %s, '15550001111@s.whatsapp.net', 'r' || lpad(g.n::text, 5, '0'), "
            "now() + make_interval(secs => %s) + g.n * interval '1 millisecond' "
            "FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, %s) n) g",
            (line, offset_s, count),
        )


async def _wake(stubs: Stubs, line: str) -> None:
    """What the gateway does after it creates a reminder (rows inserted here bypass it)."""
    await stubs.mesh.WakeReminders(mesh_pb2.WakeRemindersRequest(session_id=line))


def _sent_texts(tmp_path: Path, line: str) -> list[str]:
    log = tmp_path / "sandbox" / line / "sent.jsonl"
    if not log.exists():
        return []
    # The worker may be appending: a last line without its newline is not written yet.
    rows = log.read_text().split("\n")[:-1]
    return [json.loads(row)["text"] for row in rows if row.strip()]


def _count(database_url: str, line: str, status: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM wamesh.reminders WHERE session_id = %s AND status = %s",
            (line, status),
        ).fetchone()
    return int(row[0]) if row else 0


async def _ready(stubs: Stubs, line: str) -> None:
    async with asyncio.timeout(20):
        while True:
            status = (
                await stubs.session.GetStatus(session_pb2.GetStatusRequest(session_id=line))
            ).status
            if status == common_pb2.SESSION_STATUS_READY:
                return
            if status == common_pb2.SESSION_STATUS_QR:
                await stubs.sandbox.Scan(session_pb2.ScanRequest(session_id=line))
            await asyncio.sleep(0.05)


async def _wait_sent(database_url: str, line: str, count: int, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while _count(database_url, line, "sent") < count:
            await asyncio.sleep(0.1)


class TestExactlyOnce:
    """Many due reminders: every one sent exactly once, in due order, even across a crash."""

    async def test_a_thousand_due_at_once(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
        tmp_path: Path,
    ) -> None:
        line = make_line(webhook_url=None)
        stubs = connect(spawn(line, WAMESH_SANDBOX_ACK_DELAY_MS="60000").wait_registered())
        await _ready(stubs, line)
        _insert_due(database_url, line, 1000)
        await _wake(stubs, line)
        started = time.monotonic()
        await _wait_sent(database_url, line, 1000, timeout=180)
        elapsed = time.monotonic() - started
        texts = _sent_texts(tmp_path, line)
        assert texts == [f"r{n:05d}" for n in range(1, 1001)]
        print(f"\n1000 reminders sent in {elapsed:.1f} s ({1000 / elapsed:.0f}/s)")

    async def test_killed_mid_batch_none_lost_none_twice(
        self,
        database_url: str,
        redis_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
        tmp_path: Path,
    ) -> None:
        line = make_line(webhook_url=None)
        first = spawn(line, WAMESH_SANDBOX_ACK_DELAY_MS="60000")
        stubs = connect(first.wait_registered())
        await _ready(stubs, line)
        _insert_due(database_url, line, 600)
        await _wake(stubs, line)
        async with asyncio.timeout(60):
            while len(_sent_texts(tmp_path, line)) < 150:
                await asyncio.sleep(0.01)
        first.kill()
        assert 0 < _count(database_url, line, "sent") < 600
        second = _respawn(spawn, line, redis_url)
        stubs = connect(second.wait_registered())
        await _wait_sent(database_url, line, 600, timeout=180)
        counts = Counter(_sent_texts(tmp_path, line))
        assert len(counts) == 600
        assert max(counts.values()) == 1


class TestWakeUps:
    """No LISTEN: a wake-up call reaches the worker at once, the poll finds what bypassed it."""

    async def test_rows_written_behind_the_gateways_back_are_found_by_the_poll(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line(webhook_url=None)
        stubs = connect(spawn(line, REMINDER_POLL_MS="1000").wait_registered())
        await _ready(stubs, line)
        _insert_due(database_url, line, 3)
        await _wait_sent(database_url, line, 3, timeout=5)

    async def test_without_a_wake_up_nothing_goes_before_the_poll(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        line = make_line(webhook_url=None)
        stubs = connect(spawn(line, REMINDER_POLL_MS="60000").wait_registered())
        await _ready(stubs, line)
        await asyncio.sleep(0.5)  # the look at `ready` has happened
        _insert_due(database_url, line, 3)
        await asyncio.sleep(1.5)
        assert _count(database_url, line, "sent") == 0
        await _wake(stubs, line)
        await _wait_sent(database_url, line, 3, timeout=2)

    async def test_a_wake_up_for_another_line_is_refused(
        self, make_line: Callable[..., str], spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        line, other = make_line(webhook_url=None), make_line(webhook_url=None)
        stubs = connect(spawn(line).wait_registered())
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _wake(stubs, other)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _respawn(spawn: SpawnWorker, line: str, redis_url: str) -> WorkerProcess:
    """A new worker once the killed one's lease has run out."""
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 10
    while client.exists(f"wamesh:worker:{line}") and time.monotonic() < deadline:
        time.sleep(0.1)
    client.close()
    return spawn(line, WAMESH_SANDBOX_ACK_DELAY_MS="60000")


class TestReadiness:
    """Reminders wait while the line is not ready and go out, in due order, when it is."""

    async def test_due_reminders_wait_for_ready(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
        tmp_path: Path,
    ) -> None:
        line = make_line(webhook_url=None)
        stubs = connect(spawn(line).wait_registered())
        _insert_due(database_url, line, 20)
        await asyncio.sleep(1.5)
        assert _count(database_url, line, "sent") == 0
        await _ready(stubs, line)
        await _wait_sent(database_url, line, 20, timeout=30)
        assert _sent_texts(tmp_path, line) == [f"r{n:05d}" for n in range(1, 21)]


class TestIsolation:
    """A worker never touches another line's reminders."""

    async def test_other_lines_reminders_are_untouched(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
    ) -> None:
        mine, other = make_line(webhook_url=None), make_line(webhook_url=None)
        _insert_due(database_url, other, 10)
        stubs = connect(spawn(mine).wait_registered())
        await _ready(stubs, mine)
        _insert_due(database_url, mine, 10)
        await _wake(stubs, mine)
        await _wait_sent(database_url, mine, 10, timeout=30)
        await asyncio.sleep(0.5)
        assert _count(database_url, other, "pending") == 10
        with psycopg.connect(database_url) as conn:
            touched = conn.execute(
                "SELECT count(*) FROM wamesh.reminders WHERE session_id = %s AND (attempts > 0 OR updated_at > created_at)",
                (other,),
            ).fetchone()
        assert touched == (0,)


class TestEditedAfterASend:
    """A worker that sent an occurrence died before recording it, and the text was edited since:
    the next worker finds the id used for other content and settles the occurrence as sent."""

    async def test_the_first_send_stands_and_nothing_is_sent_again(
        self,
        database_url: str,
        make_line: Callable[..., str],
        spawn: SpawnWorker,
        connect: Callable[[str], Stubs],
        tmp_path: Path,
    ) -> None:
        line = make_line(webhook_url=None)
        stubs = connect(spawn(line, REMINDER_POLL_MS="60000").wait_registered())
        await _ready(stubs, line)
        _insert_due(database_url, line, 1)
        with psycopg.connect(database_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT series_id FROM wamesh.reminders WHERE session_id = %s", (line,)
            ).fetchone()
            assert row is not None
            conn.execute(  # what the dead worker stored for the text before the edit
                "INSERT INTO wamesh.sent_messages (session_id, client_message_id, message_id, "
                "chat_id, sent_at, content_sha256) VALUES (%s, %s, 'EARLIER', "
                "'15550001111@s.whatsapp.net', now(), 'sha-of-the-old-text')",
                (line, f"reminder:{row[0]}:1"),
            )
        await _wake(stubs, line)
        await _wait_sent(database_url, line, 1, timeout=10)
        with psycopg.connect(database_url) as conn:
            settled = conn.execute(
                "SELECT sent_message_id FROM wamesh.reminders WHERE session_id = %s", (line,)
            ).fetchone()
        assert settled == ("EARLIER",)
        assert _sent_texts(tmp_path, line) == []
