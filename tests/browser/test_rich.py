"""Rich messages on the unchanged browser engine against the stand-in WhatsApp Web (real Chromium):
media out and in, quoted replies, mentions, reactions, edits, revokes and forwards."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.browser.test_engine import PEER, _ready
from wamesh.engines.base import (
    MediaInfo,
    MediaSource,
    MessageEdited,
    MessageIn,
    MessageRevoked,
    MessageType,
    ReactionChanged,
    message_id_for,
)
from wamesh.engines.rich import Outgoing, OutgoingMedia

pytestmark = pytest.mark.browser
PEER_WEB = "15550001111@c.us"
# A 1x1 PNG and some bytes for other kinds; the stand-in keeps the sha256 of what it was given.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _media(kind: MessageType, data: bytes, mimetype: str, filename: str | None) -> OutgoingMedia:
    async def chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(data), 100_000):
            yield data[at : at + 100_000]

    digest = hashlib.sha256(data).hexdigest()
    info = MediaInfo("m-" + digest[:8], mimetype, len(data), digest, filename)
    return OutgoingMedia(kind, info, MediaSource(mimetype, chunks, filename, len(data)))


async def _read(source: MediaSource) -> bytes:
    return b"".join([chunk async for chunk in source.open()])


async def _received(run: Any, script: str, arg: Any = None) -> MessageIn:
    before = len([e for e in run.events if isinstance(e, MessageIn)])
    await run.page(script, arg)
    found = await run.count(MessageIn, before + 1)
    return found[-1]  # type: ignore[no-any-return]


class TestMediaOut:
    """Media are prepared and uploaded as whatsapp-web.js does; the stand-in got the same bytes."""

    @pytest.mark.parametrize(
        ("kind", "wa_type", "mimetype", "filename", "data"),
        [
            (MessageType.IMAGE, "image", "image/png", None, PNG),
            (MessageType.DOCUMENT, "document", "application/pdf", "report.pdf", b"%PDF" * 300_000),
            (MessageType.VOICE, "ptt", "audio/ogg; codecs=opus", None, b"OggS" + bytes(5000)),
            (MessageType.AUDIO, "audio", "audio/mpeg", None, b"ID3" + bytes(7000)),
            (
                MessageType.VIDEO,
                "video",
                "video/mp4",
                None,
                b"\x00\x00\x00\x18ftypmp42" + bytes(9000),
            ),
            (
                MessageType.STICKER,
                "sticker",
                "image/webp",
                None,
                b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(800),
            ),
        ],
    )
    async def test_each_kind_arrives_whole(
        self,
        start_engine: Callable[..., Any],
        kind: MessageType,
        wa_type: str,
        mimetype: str,
        filename: str | None,
        data: bytes,
    ) -> None:
        run = await _ready(start_engine)
        mid = message_id_for("rich", kind.value)
        out = Outgoing(PEER, mid, "a caption", _media(kind, data, mimetype, filename))
        sent = await run.engine.send_message(out)
        assert (sent.id, sent.type, sent.text) == (mid, kind, "a caption")
        [record] = await run.page("() => window.__standin.sent()")
        assert record["type"] == wa_type
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["caption"] == "a caption"
        if filename:
            assert record["filename"] == filename
        again = await run.engine.send_message(out)
        assert again.id == mid
        assert len(await run.page("() => window.__standin.uploads()")) == 1


class TestMediaIn:
    """Received media are downloaded through WhatsApp Web's download manager, byte for byte."""

    async def test_received_image_downloads_the_same_bytes(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        data = PNG * 50
        inbound = await _received(
            run,
            "([b]) => window.__standin.receiveMedia('15550002222@c.us', 'image', b, 'image/png', "
            "'photo.png', 'look')",
            [base64.b64encode(data).decode()],
        )
        assert (inbound.message.type, inbound.message.text) == (MessageType.IMAGE, "look")
        assert inbound.download is not None
        assert inbound.download.mimetype == "image/png"
        assert await _read(inbound.download) == data

    async def test_voice_note_is_a_voice_message(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        data = b"OggS" + bytes(range(256)) * 800
        inbound = await _received(
            run,
            "([b]) => window.__standin.receiveMedia('15550002222@c.us', 'ptt', b, 'audio/ogg')",
            [base64.b64encode(data).decode()],
        )
        assert inbound.message.type == MessageType.VOICE
        assert inbound.download is not None
        assert (
            hashlib.sha256(await _read(inbound.download)).digest() == hashlib.sha256(data).digest()
        )


class TestRepliesAndMentions:
    """A quoted reply carries the quoted message's context; mentions their JIDs."""

    async def test_reply_with_a_mention(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        quoted = await _received(run, "() => window.__standin.receive('15550001111@c.us', 'q?')")
        mention = "15550004444@s.whatsapp.net"
        out = Outgoing(
            PEER,
            message_id_for("rich", "reply"),
            "answer",
            reply_to=quoted.message.id,
            mentions=(mention,),
        )
        sent = await run.engine.send_message(out)
        assert sent.reply_to == quoted.message.id
        [record] = await run.page("() => window.__standin.sent()")
        assert record["quotedId"] == quoted.message.id
        assert record["mentions"] == ["15550004444@c.us"]

    async def test_inbound_reply_and_mentions_are_reported(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        quoted = await _received(run, "() => window.__standin.receive('15550001111@c.us', 'one')")
        reply = await _received(
            run,
            "([q]) => window.__standin.receiveRich('15550001111@c.us', 'two', "
            "{quotedId: q, mentions: ['15550009999@c.us']})",
            [quoted.message.id],
        )
        assert reply.message.reply_to == quoted.message.id
        assert reply.message.mentions == ("15550009999@s.whatsapp.net",)


class TestActions:
    """React, edit, revoke and forward; and the same done by others reported as events."""

    async def test_own_actions_reach_whatsapp_web(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        mid = message_id_for("rich", "act")
        await run.engine.send_text(PEER, "first words", mid)
        await run.engine.react(PEER, mid, "👍")
        await run.engine.edit(PEER, mid, "better words")
        forwarded = await run.engine.forward(
            PEER, mid, "15550005555@s.whatsapp.net", message_id_for("rich", "fwd")
        )
        assert forwarded.chat_id == "15550005555@s.whatsapp.net"
        await run.engine.revoke(PEER, mid)
        [reaction] = await run.page("() => window.__standin.reactions()")
        assert (reaction["msgId"], reaction["emoji"]) == (mid, "👍")
        [edit] = await run.page("() => window.__standin.edits()")
        assert (edit["msgId"], edit["text"]) == (mid, "better words")
        [revoke] = await run.page("() => window.__standin.revokes()")
        assert revoke["msgId"] == mid
        [forward] = await run.page("() => window.__standin.forwards()")
        assert forward["sourceId"] == mid

    async def test_others_reactions_edits_and_revokes_are_events(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        inbound = await _received(run, "() => window.__standin.receive('15550001111@c.us', 'hey')")
        mid = inbound.message.id
        await run.page(
            "([i]) => window.__standin.receiveReaction('15550001111@c.us', i, '❤')", [mid]
        )
        reaction = await run.wait_for(ReactionChanged)
        assert (reaction.message_id, reaction.emoji, reaction.sender) == (
            mid,
            "❤",
            "15550001111@s.whatsapp.net",
        )
        await run.page(
            "([i]) => window.__standin.receiveEdit('15550001111@c.us', i, 'hey!')", [mid]
        )
        edited = await run.wait_for(MessageEdited)
        assert (edited.message_id, edited.text) == (mid, "hey!")
        await run.page("([i]) => window.__standin.receiveRevoke('15550001111@c.us', i)", [mid])
        revoked = await run.wait_for(MessageRevoked)
        assert (revoked.message_id, revoked.chat_id) == (mid, PEER)
        await asyncio.sleep(0.3)
        assert len([e for e in run.events if isinstance(e, MessageIn)]) == 1
