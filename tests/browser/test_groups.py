"""Groups, read receipts and presence on the browser engine, against the stand-in (whatsapp-web.js
getChatModel, gp2 notifications, sendSeen, sendChatstate, sendPresenceAvailable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.test_engine import PEER, _ready
from wamesh.engines.base import GroupParticipantsChanged, PresenceChanged
from wamesh.engines.rich import ChatPresence

pytestmark = pytest.mark.browser
MEMBERS = [
    {"jid": "15550004444@c.us", "isAdmin": True, "isSuperAdmin": True},
    {"jid": "15550005555@c.us", "isAdmin": False, "isSuperAdmin": False},
]


async def _group(run: Any) -> str:
    return str(await run.page("([p]) => window.__standin.createGroup('Team', p)", [MEMBERS]))


class TestGroups:
    """The line's groups with subject and members (admin flags); membership changes as events."""

    async def test_list_and_read_a_group(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        group = await _group(run)
        listed = await run.engine.list_groups()
        assert [(g.jid, g.subject) for g in listed] == [(group, "Team")]
        info = await run.engine.group_info(group)
        admins = {p.jid: (p.is_admin, p.is_super_admin) for p in info.participants}
        assert admins["15550004444@s.whatsapp.net"] == (True, True)
        assert admins["15550005555@s.whatsapp.net"] == (False, False)

    async def test_membership_change_is_an_event(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        group = await _group(run)
        await run.page(
            "([g]) => window.__standin.groupNotification(g, 'add', ['15550006666@c.us'], "
            "'15550004444@c.us')",
            [group],
        )
        changed = await run.wait_for(GroupParticipantsChanged)
        assert (changed.group_jid, changed.action, changed.participants, changed.author) == (
            group,
            "add",
            ("15550006666@s.whatsapp.net",),
            "15550004444@s.whatsapp.net",
        )


class TestReadAndPresence:
    """Mark read, typing / recording / paused in a chat, online / offline."""

    async def test_read_and_chat_states(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.receive('15550001111@c.us', 'seen?')")
        await run.engine.mark_read(PEER)
        assert await run.page("() => window.__standin.seen()") == ["15550001111@c.us"]
        for presence in (ChatPresence.TYPING, ChatPresence.RECORDING, ChatPresence.PAUSED):
            await run.engine.set_presence(PEER, presence)
        states = await run.page("() => window.__standin.chatStates()")
        assert [s["state"] for s in states] == ["typing", "recording", "paused"]
        await run.engine.set_presence(None, ChatPresence.ONLINE)
        assert (await run.page("() => window.__standin.presences()"))[-1] == "available"

    async def test_contact_presence_after_subscribing(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        sent = "() => window.__standin.contactPresence('15550001111@c.us', null, 'typing')"
        assert await run.page(sent) is False  # not subscribed: WhatsApp sends nothing
        await run.engine.subscribe_presence(PEER)
        assert await run.page(sent) is True
        changed = await run.wait_for(PresenceChanged)
        assert (changed.chat_id, changed.presence) == (PEER, "typing")
