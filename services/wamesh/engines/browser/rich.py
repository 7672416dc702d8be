"""Rich messages on WhatsApp Web: media in and out, locations, contact cards and polls, replies,
mentions, reactions, edits, revokes and forwards, through the bridge's commands (bridge.js, as
whatsapp-web.js does each).

Media cross the page boundary in base64 slices of `SLICE` bytes, so neither side ever holds one
huge string: a send streams the MediaSource into the page before the send command; a download
is fetched once by the page and read back slice by slice.
"""

from __future__ import annotations

import base64
import uuid
from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from wamesh.engines.base import MediaSource, Message
from wamesh.engines.browser.events import message_from
from wamesh.engines.rich import (
    STRUCTURED_TYPES,
    ChatPresence,
    ChecksNumbers,
    ContactInfo,
    Edits,
    Forwards,
    GroupInfo,
    MarksPresence,
    Outgoing,
    OutgoingMedia,
    Participant,
    Reacts,
    ReadsGroups,
    Revokes,
    SendsRich,
    SubscribesPresence,
)
from wamesh.errors import (
    EngineError,
    EngineIncompatible,
    InvalidInput,
    MessageNotFound,
    NotFound,
    Unprocessable,
)
from wamesh.jid import LEGACY_USER_SERVER, USER_SERVER, normalize_jid

SLICE = 384 * 1024  # 512 KiB of base64 per page call


def to_web(chat_id: str) -> str:
    """WhatsApp Web names users `<number>@c.us`."""
    user, _, server = chat_id.partition("@")
    return f"{user}@{LEGACY_USER_SERVER}" if server == USER_SERVER else chat_id


def group_from(data: dict[str, Any]) -> GroupInfo:
    """A bridge group as a GroupInfo."""
    members = tuple(
        Participant(normalize_jid(str(p["jid"])), bool(p["isAdmin"]), bool(p["isSuperAdmin"]))
        for p in data.get("participants") or ()
    )
    return GroupInfo(str(data["jid"]), str(data["subject"]), str(data["description"]), members)


def structured_options(out: Outgoing) -> dict[str, Any]:
    """A location, contact cards or a poll as the bridge's send options (none for others)."""
    if out.location is not None:
        place = out.location
        return {
            "location": {
                "lat": place.latitude,
                "lng": place.longitude,
                "name": place.name or "",
                "address": place.address or "",
                "url": place.url or "",
            }
        }
    if out.contacts:
        return {"contacts": [{"name": c.name, "vcard": c.vcard} for c in out.contacts]}
    if out.poll is not None:
        poll = out.poll
        return {
            "poll": {
                "question": poll.question,
                "options": list(poll.options),
                "selectable": poll.selectable_count,
            }
        }
    return {}


def checked(data: dict[str, Any], chat_id: str) -> dict[str, Any]:
    """The bridge's answer, or the domain error its `error` names."""
    error = data.get("error")
    if not error:
        return data
    if error == "not_on_whatsapp":
        user = chat_id.partition("@")[0]
        raise Unprocessable(f"to: {user} is not on WhatsApp", "to", "not_on_whatsapp")
    if error in ("message_not_found", "reply_not_found"):
        raise MessageNotFound(f"no such message in chat {chat_id}")
    if error == "invalid_vcard":
        raise InvalidInput("contacts: WhatsApp Web cannot read the vCard", "contacts")
    if error == "group_not_found":
        raise NotFound(f"the line is not in a group {chat_id}")
    if error in ("cannot_edit", "cannot_revoke"):
        what = "edited" if error == "cannot_edit" else "deleted for everyone"
        raise InvalidInput(f"WhatsApp does not allow this message to be {what}", "message_id")
    if error == "missing_modules":
        missing = ", ".join(data.get("missing") or [])
        raise EngineIncompatible(f"WhatsApp Web lacks the modules {missing}")
    raise EngineError(f"WhatsApp Web could not do it: {error} {data.get('message') or ''}".strip())


class BrowserRich(
    SendsRich,
    Reacts,
    Edits,
    Revokes,
    Forwards,
    ChecksNumbers,
    ReadsGroups,
    MarksPresence,
    SubscribesPresence,
):
    """The rich-message capabilities of the browser engine (mixed into BrowserEngine)."""

    structured_kinds = STRUCTURED_TYPES

    @abstractmethod
    async def _command(self, script: str, arg: Any) -> Any:
        """Run a bridge command in the page."""

    async def send_message(self, out: Outgoing) -> Message:
        """Text, media, a location, contact cards or a poll, with a quoted reply and mentions,
        as whatsapp-web.js sendMessage."""
        options: dict[str, Any] = {
            "replyTo": out.reply_to or "",
            "mentions": [to_web(j) for j in out.mentions],
            **structured_options(out),
        }
        if out.media is not None:
            options["upload"] = await self._upload(out.media)
        data = await self._command(
            "([c, t, i, o]) => window.__wamesh.send(c, t, i, o)",
            [to_web(out.chat_id), out.text, out.message_id, options],
        )
        return message_from(checked(data, out.chat_id)["message"])

    async def react(self, chat_id: str, message_id: str, emoji: str) -> None:
        """WAWebSendReactionMsgAction.sendReactionToMsg; an empty emoji removes it."""
        await self._act("react", chat_id, message_id, emoji)

    async def edit(self, chat_id: str, message_id: str, text: str) -> None:
        """WAWebSendMessageEditAction.sendMessageEdit on the line's own message."""
        await self._act("edit", chat_id, message_id, text)

    async def revoke(self, chat_id: str, message_id: str) -> None:
        """Cmd.sendRevokeMsgs: delete for everyone."""
        await self._act("revoke", chat_id, message_id)

    async def forward(
        self, chat_id: str, message_id: str, to_chat: str, new_message_id: str
    ) -> Message:
        """WAWebChatForwardMessage.forwardMessages; WhatsApp Web picks the new message's id."""
        data = await self._command(
            "([c, i, t]) => window.__wamesh.forward(c, i, t)",
            [to_web(chat_id), message_id, to_web(to_chat)],
        )
        return message_from(checked(data, to_chat)["message"])

    async def check_contact(self, jid: str) -> ContactInfo:
        """Whether `jid` is on WhatsApp, with its phone-number JID and LID when WhatsApp Web
        knows them (queryWidExists, then WAWebApiContact's mapping)."""
        data = checked(
            await self._command("([j]) => window.__wamesh.checkContact(j)", [to_web(jid)]), jid
        )
        return ContactInfo(
            bool(data["exists"]),
            normalize_jid(str(data["jid"])) if data.get("jid") else None,
            str(data["lid"]) if data.get("lid") else None,
        )

    async def list_groups(self) -> list[GroupInfo]:
        """The groups among WhatsApp Web's chats (without participants)."""
        data = await self._command("() => window.__wamesh.listGroups()", None)
        return [group_from(g) for g in checked(data, "")["groups"]]

    async def group_info(self, group_jid: str) -> GroupInfo:
        """One group, its metadata brought up to date as whatsapp-web.js getChatModel does."""
        data = await self._command("([g]) => window.__wamesh.groupInfo(g)", [group_jid])
        return group_from(checked(data, group_jid)["group"])

    async def mark_read(self, chat_id: str) -> None:
        """WAWebUpdateUnreadChatAction.sendSeen, available for that moment."""
        data = await self._command("([c]) => window.__wamesh.markRead(c)", [to_web(chat_id)])
        checked(data, chat_id)

    async def set_presence(self, chat_id: str | None, presence: ChatPresence) -> None:
        """WAWebChatStateBridge in a chat (typing, recording, paused), WAWebPresenceChatAction
        everywhere (online, offline)."""
        target = to_web(chat_id) if chat_id else None
        script = "([c, p]) => window.__wamesh.setPresence(c, p)"
        checked(await self._command(script, [target, presence.value]), chat_id or "")

    async def subscribe_presence(self, jid: str) -> None:
        """Receive `jid`'s presence (online, typing, recording) as PresenceChanged events."""
        script = "([c]) => window.__wamesh.subscribePresence(c)"
        checked(await self._command(script, [to_web(jid)]), jid)

    def media_download(self, media: dict[str, Any]) -> MediaSource:
        """A received message's media, read from the page when the worker opens it."""
        key = str(media["key"])
        return MediaSource(
            mimetype=str(media.get("mimetype") or "application/octet-stream"),
            open=lambda: self._download(key),
            filename=str(media.get("filename") or "") or None,
            size=int(media.get("size") or 0) or None,
        )

    async def _act(self, name: str, chat_id: str, message_id: str, *extra: str) -> None:
        script = f"(a) => window.__wamesh.{name}(...a)"
        data = await self._command(script, [to_web(chat_id), message_id, *extra])
        checked(data, chat_id)

    async def _upload(self, media: OutgoingMedia) -> dict[str, Any]:
        upload_id = str(uuid.uuid4())
        await self._command("([u]) => window.__wamesh.mediaBegin(u)", [upload_id])
        append = "([u, b]) => window.__wamesh.mediaChunk(u, b)"
        async for chunk in media.source.open():
            for at in range(0, len(chunk), SLICE):
                piece = base64.b64encode(chunk[at : at + SLICE]).decode()
                await self._command(append, [upload_id, piece])
        return {
            "id": upload_id,
            "kind": media.kind.value,
            "mimetype": media.info.mimetype,
            "filename": media.info.filename or "",
        }

    async def _download(self, key: str) -> AsyncIterator[bytes]:
        info = await self._command("([k]) => window.__wamesh.download(k)", [key])
        checked(info, key)
        size = int(info["size"])
        for start in range(0, size, SLICE):
            piece = await self._command(
                "([k, s, e]) => window.__wamesh.downloadSlice(k, s, e)",
                [key, start, min(size, start + SLICE)],
            )
            if piece is None:
                raise EngineError("WhatsApp Web dropped the media before it was read")
            yield base64.b64decode(piece)
