"""The sandbox server's sent log: a send returns only once its record is fsynced, and sends that
arrive while one fsync runs share the next one (group commit), in order, none lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wamesh.engines.base import Ack, Message
from wamesh.engines.sandbox import SentLog
from wamesh.engines.sandbox import sent_log as sent_log_module


def _message(n: int) -> Message:
    return Message(
        id=f"3EB0{n:06d}",
        chat_id="15550001111@s.whatsapp.net",
        sender="15550009999@s.whatsapp.net",
        recipient="15550001111@s.whatsapp.net",
        from_me=True,
        text=f"message {n}",
        timestamp=datetime.now(UTC),
        ack=Ack.PENDING,
    )


class TestSentLogSync:
    """Concurrent appends are all on disk, in order, when they return; fsyncs are shared."""

    async def test_concurrent_appends_share_fsyncs_and_keep_their_order(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fsyncs: list[Path] = []
        real = sent_log_module._fsync

        def counting(path: Path) -> None:
            fsyncs.append(path)
            real(path)

        monkeypatch.setattr(sent_log_module, "_fsync", counting)
        log = SentLog.of(tmp_path, "line")
        await asyncio.gather(*(log.append(_message(n)) for n in range(200)))
        reread = SentLog.of(tmp_path, "line")
        assert [m.id for m in reread.all()] == [_message(n).id for n in range(200)]
        assert 1 <= len(fsyncs) < 20, f"{len(fsyncs)} fsyncs for 200 concurrent appends"

    async def test_an_append_returns_only_after_an_fsync_that_started_after_its_write(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sizes: list[int] = []
        real = sent_log_module._fsync

        def recording(path: Path) -> None:
            sizes.append(len(path.read_text().splitlines()))
            real(path)

        monkeypatch.setattr(sent_log_module, "_fsync", recording)
        log = SentLog.of(tmp_path, "line")
        for n in range(3):
            await log.append(_message(n))
            assert sizes[-1] == n + 1, "returned before an fsync covered the record"

    async def test_a_message_found_while_its_fsync_runs_waits_for_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        gate = asyncio.Event()
        loop = asyncio.get_running_loop()
        real = sent_log_module._fsync

        def slow(path: Path) -> None:
            asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(timeout=10)
            real(path)

        monkeypatch.setattr(sent_log_module, "_fsync", slow)
        log = SentLog.of(tmp_path, "line")
        first = asyncio.create_task(log.append(_message(1)))
        await asyncio.sleep(0.05)
        assert log.get(_message(1).id) is not None
        waiter = asyncio.create_task(log.sync())
        await asyncio.sleep(0.05)
        assert not waiter.done()
        assert not first.done()
        gate.set()
        await asyncio.wait_for(asyncio.gather(first, waiter), timeout=10)
