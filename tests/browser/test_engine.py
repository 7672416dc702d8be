"""The unchanged browser engine against the stand-in WhatsApp Web, in real Chromium."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wamesh.engines.base import (
    Ack,
    AckChanged,
    Disconnected,
    Failed,
    LoggedOut,
    MessageIn,
    MessageOut,
    Qr,
    Ready,
)
from wamesh.engines.browser.engine import bridge_script

pytestmark = pytest.mark.browser
STANDIN_JS = Path(__file__).resolve().parent / "standin" / "standin.js"


class TestModuleTable:
    """The stand-in offers every module the bridge's table names."""

    def test_stand_in_and_bridge_agree(self) -> None:
        table = re.search(r"const MODULES = \{(.*?)\};", bridge_script(), re.S)
        assert table is not None
        wanted = set(re.findall(r'"(WA\w+)"', table.group(1)))
        offered = set(re.findall(r"^\s+(WA\w+):", STANDIN_JS.read_text(), re.M))
        assert wanted
        assert wanted <= offered, wanted - offered


class TestPairing:
    """QR, scan, ready; send with acks; inbound; restore; logout; incompatibility."""

    async def test_qr_rotates_then_scan_makes_it_ready(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await start_engine()
        qrs = await run.count(Qr, 2, timeout=30)
        assert qrs[0].code != qrs[1].code
        assert qrs[0].code.count(",") == 4
        await run.page("() => window.__standin.scan()")
        ready = await run.wait_for(Ready)
        assert ready.me == "15550009999@s.whatsapp.net"

    async def test_send_returns_the_id_and_acks_progress(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        await run.page("() => window.__standin.scan()")
        await run.wait_for(Ready)
        sent = await run.engine.send_text("15550001111@s.whatsapp.net", "hello", "3EB0ABCDEF")
        assert (sent.id, sent.chat_id, sent.from_me) == (
            "3EB0ABCDEF",
            "15550001111@s.whatsapp.net",
            True,
        )
        again = await run.engine.send_text("15550001111@s.whatsapp.net", "hello", "3EB0ABCDEF")
        assert again.id == sent.id
        assert len([e for e in run.events if isinstance(e, MessageOut)]) <= 1
        await run.count(AckChanged, 2)
        await run.page("([i]) => window.__standin.setAck(i, 3)", ["3EB0ABCDEF"])
        acks = await run.count(AckChanged, 3)
        assert [a.ack for a in acks] == [Ack.SERVER, Ack.DEVICE, Ack.READ]

    async def test_inbound_message(self, start_engine: Callable[..., Any]) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        await run.page("() => window.__standin.scan()")
        await run.wait_for(Ready)
        await run.page("() => window.__standin.receive('15550002222@c.us', 'hi there')")
        inbound = await run.wait_for(MessageIn)
        assert (inbound.message.text, inbound.message.chat_id) == (
            "hi there",
            "15550002222@s.whatsapp.net",
        )

    async def test_restore_into_a_wiped_profile_is_ready_without_qr(
        self, start_engine: Callable[..., Any], tmp_path: Path
    ) -> None:
        first = await start_engine(profile=tmp_path / "first")
        await first.wait_for(Qr)
        await first.page("() => window.__standin.scan()")
        await first.wait_for(Ready)
        await first.stop()
        state = await first.engine.export_auth_state()
        assert state is not None
        shutil.rmtree(tmp_path / "first")
        second = await start_engine(auth_state=state, profile=tmp_path / "second")
        await second.wait_for(Ready)
        assert not [e for e in second.events if isinstance(e, Qr)]

    async def test_without_auth_state_it_asks_for_a_qr(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await start_engine(auth_state=b"not an archive")
        await run.wait_for(Qr)

    async def test_phone_side_logout(self, start_engine: Callable[..., Any]) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        await run.page("() => window.__standin.scan()")
        await run.wait_for(Ready)
        await run.page("() => window.__standin.phoneLogout()")
        assert isinstance(await run.wait_for(LoggedOut), LoggedOut)

    async def test_broken_module_fails_naming_it(self, start_engine: Callable[..., Any]) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        await run.page("() => window.__standin.breakModule('WAWebMsgKey')")
        failed = await run.wait_for(Failed)
        assert failed.code == "engine_incompatible"
        assert "WAWebMsgKey" in failed.reason
        assert "2.3000.0-standin" in failed.reason


class TestWatchdog:
    """Killing Chromium: the watchdog restarts it and the line returns to ready."""

    async def test_chromium_killed_then_ready_again(
        self, start_engine: Callable[..., Any], tmp_path: Path
    ) -> None:
        profile = tmp_path / "watched"
        run = await start_engine(profile=profile)
        await run.wait_for(Qr)
        await run.page("() => window.__standin.scan()")
        await run.wait_for(Ready)
        killed = _kill_chromium(profile)
        assert killed
        await run.wait_for(Disconnected, timeout=30)
        await run.count(Ready, 2, timeout=60)


def _kill_chromium(profile: Path) -> int:
    """SIGKILL every Chromium process using `profile`; return how many."""
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(profile) in cmdline and "chrom" in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                continue
    return killed


__all__ = ["asyncio"]


class TestConflict:
    """WhatsApp Web opened elsewhere: disconnected by default, taken back when the setting says so."""

    async def test_conflict_disconnects_by_default(self, start_engine: Callable[..., Any]) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        await run.page("() => window.__standin.scan()")
        await run.wait_for(Ready)
        await run.page("() => window.__standin.conflict()")
        disconnected = await run.wait_for(Disconnected)
        assert "conflict" in disconnected.reason

    async def test_conflict_is_taken_over_when_configured(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await start_engine(takeover_on_conflict=True)
        await run.wait_for(Qr)
        await run.page("() => window.__standin.scan()")
        await run.wait_for(Ready)
        await run.page("() => window.__standin.conflict()")
        await asyncio.sleep(0.5)
        assert (await run.page("() => window.__standin.state()"))["state"] == "CONNECTED"
        assert not [e for e in run.events if isinstance(e, Disconnected)]
