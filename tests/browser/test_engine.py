"""The unchanged browser engine against the stand-in WhatsApp Web, in real Chromium.

The stand-in is built from surface.json (WhatsApp Web's module surface as whatsapp-web.js uses it,
with sources), never from the bridge; these tests drive it through its control API.
"""

from __future__ import annotations

import asyncio
import base64
import json
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
    PairingCode,
    Qr,
    Ready,
    message_id_for,
)
from wamesh.engines.browser.engine import bridge_script
from wamesh.errors import InvalidInput

pytestmark = pytest.mark.browser
SURFACE = Path(__file__).resolve().parents[2] / "services/wamesh/engines/browser/surface.json"
PEER = "15550001111@s.whatsapp.net"


async def _ready(start_engine: Callable[..., Any], **extra: Any) -> Any:
    run = await start_engine(**extra)
    await run.wait_for(Qr)
    await run.page("() => window.__standin.scan()")
    await run.wait_for(Ready)
    return run


class TestSurface:
    """Every WhatsApp Web module the bridge names is in the surface file, with a source."""

    def test_every_module_of_the_bridge_is_described(self) -> None:
        surface = json.loads(SURFACE.read_text())
        described = {entry["module"] for entry in surface["entries"]}
        used = set(re.findall(r'"(WA[A-Za-z]+)"', bridge_script()))
        assert used
        assert used <= described, used - described


class TestQr:
    """The QR payload is WhatsApp Web's, awaited where WhatsApp Web is async, and stays fresh."""

    async def test_payload_is_ref_keys_adv_secret_and_platform(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await start_engine()
        qr = await run.wait_for(Qr)
        expected = await run.page(
            """async () => {
                const b64 = window.require('WABase64');
                const noise = await window.require('WAWebUserPrefsInfoStore').waNoiseInfo.get();
                const reg = await window.require('WAWebSignalStoreApi')
                    .waSignalStore.getRegistrationInfo();
                return [b64.encodeB64(noise.staticKeyPair.pubKey),
                        b64.encodeB64(reg.identityKeyPair.pubKey),
                        window.require('WAWebUserPrefsMultiDevice').getADVSecretKey(),
                        window.require('WAWebCompanionRegClientUtils').DEVICE_PLATFORM];
            }"""
        )
        ref, *parts = qr.code.split(",")
        assert ref.startswith("2@")
        assert parts == expected
        assert len(base64.b64decode(parts[0])) == 32

    async def test_ref_rotation_gives_new_codes(self, start_engine: Callable[..., Any]) -> None:
        run = await start_engine()
        qrs = await run.count(Qr, 2, timeout=30)
        assert qrs[0].code.split(",")[0] != qrs[1].code.split(",")[0]
        assert qrs[0].code.split(",")[1:] == qrs[1].code.split(",")[1:]

    async def test_idle_qr_is_refreshed(self, start_engine: Callable[..., Any]) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        await run.page("() => window.__standin.idle()")
        before = len([e for e in run.events if isinstance(e, Qr)])
        await run.count(Qr, before + 1, timeout=15)
        assert await run.page("() => window.__standin.refreshCount()") >= 1

    async def test_lazily_loaded_modules_are_not_incompatible_before_login(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await start_engine()
        await run.count(Qr, 2, timeout=30)
        assert not [e for e in run.events if isinstance(e, Failed)]
        await run.page("() => window.__standin.scan()")
        await run.wait_for(Ready)


class TestPairingCode:
    """Linking by a code typed on the phone, as whatsapp-web.js's requestPairingCode does."""

    async def test_code_then_phone_enters_it_then_ready(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        code = await run.engine.request_pairing_code("15550009999")
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code.code)
        assert code.phone == "15550009999"
        event = await run.wait_for(PairingCode)
        assert event.code == code.code
        entered = await run.page(
            "([c]) => window.__standin.enterPairingCode(c)", [code.code.replace("-", "")]
        )
        assert entered is not False
        ready = await run.wait_for(Ready)
        assert ready.me.endswith("@s.whatsapp.net")


class TestReadiness:
    """Ready with the own id, a phone number's JID or, for LID-only accounts, the LID."""

    async def test_phone_number_me(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        ready = await run.wait_for(Ready)
        assert ready.me == "15550009999@s.whatsapp.net"
        assert ready.lid == "210000009999@lid"  # getMaybeMeLidUser

    async def test_lid_only_me(self, start_engine: Callable[..., Any]) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        await run.page("() => window.__standin.meLidOnly(true)")
        await run.page("() => window.__standin.scan()")
        ready = await run.wait_for(Ready)
        assert ready.me.endswith("@lid")
        assert ready.lid == ready.me

    async def test_dollar_one_serialization(
        self, start_engine: Callable[..., Any], standin_url: str
    ) -> None:
        run = await _ready(start_engine, url=standin_url + "&serial=$1")
        assert (await run.wait_for(Ready)).me == "15550009999@s.whatsapp.net"
        sent = await run.engine.send_text(PEER, "hi", message_id_for("s", "dollar"))
        assert sent.chat_id == PEER


class TestStates:
    """Transient states do not end the line; a long one is reported; blocking states end it."""

    async def test_short_timeout_is_not_a_disconnection(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.setState('TIMEOUT')")
        await asyncio.sleep(0.3)
        await run.page("() => window.__standin.setState('CONNECTED')")
        await asyncio.sleep(1.0)
        assert not [e for e in run.events if isinstance(e, Disconnected | Failed | LoggedOut)]

    async def test_long_timeout_disconnects_then_ready_again(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine, transient_grace_s=0.5)
        await run.page("() => window.__standin.setState('TIMEOUT')")
        disconnected = await run.wait_for(Disconnected, timeout=10)
        assert "TIMEOUT" in disconnected.reason
        await run.page("() => window.__standin.setState('CONNECTED')")
        await run.count(Ready, 2, timeout=10)

    async def test_blocked_number_fails_the_line(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.setState('TOS_BLOCK')")
        failed = await run.wait_for(Failed)
        assert "TOS_BLOCK" in failed.reason

    async def test_conflict_disconnects_by_default(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.conflict()")
        disconnected = await run.wait_for(Disconnected)
        assert "conflict" in disconnected.reason

    async def test_conflict_is_taken_over_when_configured(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine, takeover_on_conflict=True)
        await run.page("() => window.__standin.conflict()")
        async with asyncio.timeout(5):
            while (await run.page("() => window.__standin.state()"))["state"] != "CONNECTED":
                await asyncio.sleep(0.1)
        assert not [e for e in run.events if isinstance(e, Disconnected)]


class TestLogout:
    """Every way WhatsApp Web signals a logout ends in exactly one LoggedOut."""

    async def test_phone_side_logout(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.phoneLogout()")
        await run.wait_for(LoggedOut)
        await asyncio.sleep(1.5)  # the reload after logout signals it again: still one event
        assert len([e for e in run.events if isinstance(e, LoggedOut)]) == 1

    async def test_logout_from_wamesh(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        await run.engine.logout()
        await run.wait_for(LoggedOut)

    async def test_unpaired_after_ready_is_a_logout(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.setState('UNPAIRED')")
        await run.wait_for(LoggedOut)


class TestSending:
    """Sends carry what WhatsApp Web needs in each kind of chat; unknown numbers are refused."""

    async def test_send_returns_the_id_and_acks_progress(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        mid = message_id_for("line", "client-1")
        assert re.fullmatch(r"3EB0[0-9A-F]{18}", mid)
        sent = await run.engine.send_text(PEER, "hello", mid)
        assert (sent.id, sent.chat_id, sent.from_me, sent.text) == (mid, PEER, True, "hello")
        again = await run.engine.send_text(PEER, "hello", mid)
        assert again.id == sent.id
        assert len(await run.page("() => window.__standin.sent()")) == 1
        await run.count(AckChanged, 2)
        await run.page("([i]) => window.__standin.setAck(i, 3)", [mid])
        acks = await run.count(AckChanged, 3)
        assert [a.ack for a in acks] == [Ack.SERVER, Ack.DEVICE, Ack.READ]
        assert len([e for e in run.events if isinstance(e, MessageOut)]) == 1

    async def test_phone_number_chat_is_sent_from_the_phone_number(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        await run.engine.send_text(PEER, "to a number", message_id_for("s", "pn"))
        [record] = await run.page("() => window.__standin.sent()")
        assert record["to"] == "15550001111@c.us"
        assert record["from"] == "15550009999@c.us"
        assert not record.get("participant")

    async def test_lid_chat_is_sent_from_the_lid(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        sent = await run.engine.send_text("987654321012@lid", "to a lid", message_id_for("s", "l"))
        assert sent.chat_id == "987654321012@lid"
        [record] = await run.page("() => window.__standin.sent()")
        assert record["to"] == "987654321012@lid"
        assert record["from"].endswith("@lid")

    async def test_group_carries_the_participant(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        group = "120363012345678901@g.us"
        await run.engine.send_text(group, "to a group", message_id_for("s", "g"))
        await run.page("([g]) => window.__standin.lidAddressedGroup(g, true)", [group])
        await run.engine.send_text(group, "lid group", message_id_for("s", "g2"))
        first, second = await run.page("() => window.__standin.sent()")
        assert (first["to"], first["from"], first["participant"]) == (
            group,
            "15550009999@c.us",
            "15550009999@c.us",
        )
        assert second["from"].endswith("@lid")
        assert second["participant"].endswith("@lid")

    async def test_unknown_number_is_not_on_whatsapp(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.notOnWhatsApp('15550003333')")
        with pytest.raises(InvalidInput) as refused:
            await run.engine.send_text("15550003333@s.whatsapp.net", "x", message_id_for("s", "u"))
        assert refused.value.code == "not_on_whatsapp"
        assert "not on WhatsApp" in refused.value.message
        assert await run.page("() => window.__standin.sent()") == []


class TestReceiving:
    """Inbound: text, group sender, undecrypted placeholders, system messages."""

    async def test_inbound_text(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.receive('15550002222@c.us', 'hi there')")
        inbound = await run.wait_for(MessageIn)
        assert (inbound.message.text, inbound.message.chat_id, inbound.message.sender) == (
            "hi there",
            "15550002222@s.whatsapp.net",
            "15550002222@s.whatsapp.net",
        )

    async def test_group_message_keeps_its_author(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        await run.page(
            "() => window.__standin.receiveGroup('120363000000000001@g.us', "
            "'15550004444@c.us', 'in the group')"
        )
        inbound = await run.wait_for(MessageIn)
        assert inbound.message.chat_id == "120363000000000001@g.us"
        assert inbound.message.sender == "15550004444@s.whatsapp.net"

    async def test_placeholder_is_delivered_once_decrypted(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        await run.page(
            "() => window.__standin.receiveCiphertext('15550002222@c.us', 'secret', 800)"
        )
        inbound = await run.wait_for(MessageIn, timeout=10)
        assert inbound.message.text == "secret"
        await asyncio.sleep(0.5)
        assert len([e for e in run.events if isinstance(e, MessageIn)]) == 1

    async def test_undecrypted_and_system_messages_are_not_delivered(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.receiveCiphertext('15550002222@c.us', 'x', -1)")
        await run.page(
            "() => window.__standin.receiveSystem('15550002222@c.us', 'e2e_notification')"
        )
        await run.page("() => window.__standin.receiveSystem('120363000000000001@g.us', 'gp2')")
        await run.page("() => window.__standin.receive('15550002222@c.us', 'after')")
        inbound = await run.wait_for(MessageIn)
        assert inbound.message.text == "after"
        await asyncio.sleep(0.5)
        assert [e.message.text for e in run.events if isinstance(e, MessageIn)] == ["after"]


class TestProfile:
    """Auth state is the profile's IndexedDB and Local Storage; a restore needs no QR."""

    async def test_restore_into_a_wiped_profile_is_ready_without_qr(
        self, start_engine: Callable[..., Any], tmp_path: Path
    ) -> None:
        first = await _ready(start_engine, profile=tmp_path / "first")
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


class TestIncompatible:
    """A module WhatsApp Web no longer has fails the line naming it, in the phase it is needed."""

    async def test_missing_boot_module(self, start_engine: Callable[..., Any]) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        await run.page("() => window.__standin.breakModule('WAWebConnModel')")
        failed = await run.wait_for(Failed, timeout=40)
        assert failed.code == "engine_incompatible"
        assert "WAWebConnModel" in failed.reason

    async def test_missing_ready_module(self, start_engine: Callable[..., Any]) -> None:
        run = await start_engine()
        await run.wait_for(Qr)
        await run.page("() => window.__standin.breakModule('WAWebMsgKey')")
        await run.count(Qr, 2, timeout=30)
        assert not [e for e in run.events if isinstance(e, Failed)]
        await run.page("() => window.__standin.scan()")
        failed = await run.wait_for(Failed, timeout=60)
        assert failed.code == "engine_incompatible"
        assert "WAWebMsgKey" in failed.reason


class TestWatchdog:
    """Killing Chromium: the watchdog restarts it and the line returns to ready."""

    async def test_chromium_killed_then_ready_again(
        self, start_engine: Callable[..., Any], tmp_path: Path
    ) -> None:
        profile = tmp_path / "watched"
        run = await _ready(start_engine, profile=profile)
        # Chromium commits Local Storage to disk in batches a few seconds apart; a kill sooner
        # loses the pairing (as it would lose WhatsApp Web's own keys kept there).
        await asyncio.sleep(6)
        assert _kill_chromium(profile)
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


class TestDecryptedIsNotAnEdit:
    """A placeholder that decrypts changes its body: that is not an edit."""

    async def test_no_edit_event_for_a_decrypted_placeholder(
        self, start_engine: Callable[..., Any]
    ) -> None:
        from wamesh.engines.base import MessageEdited

        run = await _ready(start_engine)
        await run.page("() => window.__standin.receiveCiphertext('15550002222@c.us', 'hi', 300)")
        await run.wait_for(MessageIn, timeout=10)
        await asyncio.sleep(0.5)
        assert not [e for e in run.events if isinstance(e, MessageEdited)]
