"""Groups, read marks and presence of a line: checked here, served by engines that are
`ReadsGroups` / `MarksPresence` / `SubscribesPresence` (others answer `not_supported` through
`capability`).

The `parse_*` functions validate input before it reaches a worker (the gateway calls them too).
"""

from __future__ import annotations

from wamesh.engines.base import Engine
from wamesh.engines.rich import (
    ChatPresence,
    GroupInfo,
    MarksPresence,
    ReadsGroups,
    SubscribesPresence,
    capability,
)
from wamesh.errors import InvalidInput
from wamesh.jid import parse_group as parse_group  # re-exported: the gateway imports it here
from wamesh.jid import parse_recipient
from wamesh.session.messaging import parse_contact

CHAT_STATES = frozenset({ChatPresence.TYPING, ChatPresence.RECORDING, ChatPresence.PAUSED})


def parse_presence(chat_id: str, presence: str) -> tuple[str | None, ChatPresence]:
    """A chat state (typing, recording, paused) needs a chat; online and offline take none."""
    try:
        state = ChatPresence(presence)
    except ValueError:
        names = ", ".join(p.value for p in ChatPresence)
        raise InvalidInput(f"presence: one of {names}", "presence") from None
    if state in CHAT_STATES:
        if not chat_id:
            raise InvalidInput(f"chat_id: required for {state.value}", "chat_id")
        return parse_recipient(chat_id, "chat_id"), state
    if chat_id:
        raise InvalidInput(f"chat_id: {state.value} applies to every chat", "chat_id")
    return None, state


async def list_groups(engine: Engine) -> list[GroupInfo]:
    """Every group the line is in."""
    return await capability(engine, ReadsGroups, "reading groups").list_groups()


async def group_info(engine: Engine, group_id: str) -> GroupInfo:
    """One group with its participants."""
    jid = parse_group(group_id)
    return await capability(engine, ReadsGroups, "reading groups").group_info(jid)


async def mark_read(engine: Engine, chat_id: str) -> None:
    """Mark every message of a chat read."""
    chat = parse_recipient(chat_id, "chat_id")
    await capability(engine, MarksPresence, "marking chats read").mark_read(chat)


async def set_presence(engine: Engine, chat_id: str, presence: str) -> None:
    """Show a chat state in a chat, or online / offline everywhere."""
    chat, state = parse_presence(chat_id, presence)
    await capability(engine, MarksPresence, "setting presence").set_presence(chat, state)


async def subscribe_presence(engine: Engine, contact: str) -> str:
    """Receive a contact's presence as `presence.update` events; answers its JID."""
    jid = parse_contact(contact, "contact")
    watcher = capability(engine, SubscribesPresence, "subscribing to presence")
    await watcher.subscribe_presence(jid)
    return jid
