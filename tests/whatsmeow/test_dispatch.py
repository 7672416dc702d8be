"""neonize's own event classes, serialized and passed through its real dispatcher
(`aioze.events.Event.execute`, the QR callback) into the engine's adapter."""

from __future__ import annotations

import contextlib
import sqlite3

from neonize.aioze.events import (
    ClientOutdatedEv,
    ConnectedEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    ReceiptEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto.Neonize_pb2 import JID, MessageInfo, MessageSource
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    AudioMessage,
    ContextInfo,
    DocumentMessage,
    ExtendedTextMessage,
    ImageMessage,
    ProtocolMessage,
    ReactionMessage,
    StickerMessage,
    VideoMessage,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WaMessage

from tests.whatsmeow.conftest import Dispatcher, next_events
from wamesh.engines.base import (
    Ack,
    AckChanged,
    AuthChanged,
    Authenticated,
    Disconnected,
    Failed,
    LoggedOut,
    MessageEdited,
    MessageIn,
    MessageOut,
    MessageRevoked,
    MessageType,
    Qr,
    ReactionChanged,
    Ready,
)

ME = JID(User="15550001111", RawAgent=0, Device=7, Integrator=0, Server="s.whatsapp.net")
CONTACT = JID(User="15550002222", RawAgent=0, Device=0, Integrator=0, Server="s.whatsapp.net")


def event_of(content: WaMessage, *, from_me: bool = False, mid: str = "ABCDEF0123") -> MessageEv:
    source = MessageSource(
        Chat=CONTACT,
        Sender=ME if from_me else CONTACT,
        IsFromMe=from_me,
        IsGroup=False,
        SenderAlt=JID(User="", RawAgent=0, Device=0, Integrator=0, Server="", IsEmpty=True),
        RecipientAlt=JID(User="", RawAgent=0, Device=0, Integrator=0, Server="", IsEmpty=True),
        BroadcastListOwner=JID(
            User="", RawAgent=0, Device=0, Integrator=0, Server="", IsEmpty=True
        ),
    )
    info = MessageInfo(
        MessageSource=source, ID=mid, ServerID=0, Type="text", Pushname="Ann",
        Timestamp=1_767_000_000_000, Category="", Multicast=False, MediaType="", Edit="",
    )  # fmt: skip
    return MessageEv(
        Info=info, Message=content, IsEphemeral=False, IsViewOnce=False, IsViewOnceV2=False,
        IsViewOnceV2Extension=False, IsDocumentWithCaption=False, IsLottieSticker=False,
        IsEdit=False, UnavailableRequestID="", RetryCount=0,
    )  # fmt: skip


def media(**fields: object) -> dict[str, object]:
    return {"mimetype": "image/jpeg", "fileLength": 3, "directPath": "/x", **fields}


class TestPairingThroughTheDispatcher:
    """QR codes, pair success and connected become Qr, Authenticated and Ready."""

    async def test_qr_pair_success_connected(self, make_engine) -> None:
        engine = make_engine()
        feed = Dispatcher(engine._new_client())
        await feed.qr("2@first,code")
        await feed.qr("2@second,code")
        first, second = await next_events(engine, 2)
        assert isinstance(first, Qr)
        assert first.code == "2@first,code"
        assert first.rotation == 1
        assert isinstance(second, Qr)
        assert second.rotation == 2
        assert (second.expires_at - first.expires_at).total_seconds() < 0  # 60 s then 20 s
        await feed.send(PairStatusEv(ID=ME, BusinessName="", Platform="android", Status=2))
        await feed.send(ConnectedEv(status=True))
        assert await next_events(engine, 2) == [
            Authenticated(),
            Ready("15550001111@s.whatsapp.net"),
        ]
        assert engine._translator.device == "15550001111:7@s.whatsapp.net"
        assert engine._live  # Go called back: calls may go through

    async def test_a_restored_device_is_ready_on_connected(self, make_engine) -> None:
        engine = make_engine()
        engine._translator.__init__("15550001111:7@s.whatsapp.net", engine._media)
        client = engine._new_client()
        assert client.jid.User == "15550001111"
        assert client.jid.Device == 7
        assert not client.new_device  # resumes its own device, never the store's first one
        await Dispatcher(client).send(ConnectedEv(status=True))
        assert await next_events(engine, 2) == [
            Authenticated(),
            Ready("15550001111@s.whatsapp.net"),
        ]

    async def test_an_unpaired_line_pairs_as_a_new_device(self, make_engine) -> None:
        client = make_engine()._new_client()
        assert client.new_device
        assert client.jid is None


class TestMessagesThroughTheDispatcher:
    """Each kind of message, reactions, edits, revokes and receipts."""

    async def test_text_reply_and_mentions(self, make_engine) -> None:
        engine = make_engine()
        feed = Dispatcher(engine._new_client())
        await feed.send(event_of(WaMessage(conversation="hello")))
        context = ContextInfo(stanzaID="QUOTED1", mentionedJID=["15550001111@s.whatsapp.net"])
        text = ExtendedTextMessage(text="re: hi @me", contextInfo=context)
        await feed.send(event_of(WaMessage(extendedTextMessage=text), mid="SECOND"))
        plain, reply = await next_events(engine, 2)
        assert isinstance(plain, MessageIn)
        assert plain.download is None
        assert plain.message.text == "hello"
        assert plain.message.type == MessageType.TEXT
        assert plain.message.chat_id == plain.message.sender == "15550002222@s.whatsapp.net"
        assert plain.message.timestamp.year == 2025
        assert isinstance(reply, MessageIn)
        assert reply.message.reply_to == "QUOTED1"
        assert reply.message.mentions == ("15550001111@s.whatsapp.net",)

    async def test_each_media_kind_carries_a_download(self, make_engine) -> None:
        engine = make_engine()
        feed = Dispatcher(engine._new_client())
        contents = {
            MessageType.IMAGE: WaMessage(imageMessage=ImageMessage(caption="pic", **media())),
            MessageType.VIDEO: WaMessage(videoMessage=VideoMessage(**media(mimetype="video/mp4"))),
            MessageType.AUDIO: WaMessage(audioMessage=AudioMessage(**media(mimetype="audio/mpeg"))),
            MessageType.VOICE: WaMessage(audioMessage=AudioMessage(PTT=True, **media(mimetype="audio/ogg"))),
            MessageType.DOCUMENT: WaMessage(documentMessage=DocumentMessage(fileName="a.pdf", **media(mimetype="application/pdf"))),
            MessageType.STICKER: WaMessage(stickerMessage=StickerMessage(**media(mimetype="image/webp"))),
        }  # fmt: skip
        for kind, content in contents.items():
            await feed.send(event_of(content, mid=f"M{kind.value}"))
        received = await next_events(engine, len(contents))
        for kind, event in zip(contents, received, strict=True):
            assert isinstance(event, MessageIn)
            assert event.message.type == kind
            assert event.download is not None
            assert event.download.size == 3
        assert received[0].message.text == "pic"  # type: ignore[union-attr]
        assert received[4].download.filename == "a.pdf"  # type: ignore[union-attr]

    async def test_own_messages_reactions_edits_revokes(self, make_engine) -> None:
        engine = make_engine()
        feed = Dispatcher(engine._new_client())
        await feed.send(event_of(WaMessage(conversation="from my phone"), from_me=True))
        key = MessageKey(remoteJID="15550002222@s.whatsapp.net", fromMe=True, ID="MINE1")
        await feed.send(event_of(WaMessage(reactionMessage=ReactionMessage(key=key, text="👍"))))
        edit = ProtocolMessage(
            key=key,
            type=ProtocolMessage.MESSAGE_EDIT,
            editedMessage=WaMessage(conversation="fixed"),
        )
        await feed.send(event_of(WaMessage(protocolMessage=edit)))
        revoke = ProtocolMessage(key=key, type=ProtocolMessage.REVOKE)
        await feed.send(event_of(WaMessage(protocolMessage=revoke)))
        out, reaction, edited, revoked = await next_events(engine, 4)
        assert isinstance(out, MessageOut)
        assert out.message.from_me
        assert isinstance(reaction, ReactionChanged)
        assert reaction.emoji == "👍"
        assert reaction.message_id == "MINE1"
        assert not reaction.from_me
        assert isinstance(edited, MessageEdited)
        assert edited.text == "fixed"
        assert isinstance(revoked, MessageRevoked)
        assert revoked.message_id == "MINE1"

    async def test_receipts_become_acks(self, make_engine) -> None:
        engine = make_engine()
        feed = Dispatcher(engine._new_client())
        source = event_of(WaMessage(conversation="x")).Info.MessageSource
        await feed.send(
            ReceiptEv(
                MessageSource=source, MessageIDs=["A1", "A2"], Timestamp=1, Type=ReceiptEv.READ
            )
        )
        await feed.send(
            ReceiptEv(MessageSource=source, MessageIDs=["A3"], Timestamp=1, Type=ReceiptEv.RETRY)
        )
        await feed.send(
            ReceiptEv(
                MessageSource=source, MessageIDs=["A3"], Timestamp=1, Type=ReceiptEv.DELIVERED
            )
        )
        chat = "15550002222@s.whatsapp.net"
        assert await next_events(engine, 3) == [
            AckChanged("A1", chat, Ack.READ),
            AckChanged("A2", chat, Ack.READ),
            AckChanged("A3", chat, Ack.DEVICE),  # the retry receipt changed nothing
        ]


class TestEndingsThroughTheDispatcher:
    """Logged out (once), stream replaced, outdated client and bans."""

    async def test_logged_out_once_and_stream_replaced(self, make_engine) -> None:
        engine = make_engine()
        feed = Dispatcher(engine._new_client())
        await feed.send(StreamReplacedEv())
        await feed.send(LoggedOutEv(OnConnect=False, Reason=2))
        await feed.send(LoggedOutEv(OnConnect=True, Reason=2))
        await feed.send(ClientOutdatedEv())
        replaced, logged_out, outdated = await next_events(engine, 3)
        assert isinstance(replaced, Disconnected)
        assert "stream replaced" in replaced.reason
        assert logged_out == LoggedOut("logged out from the phone (LOGGED_OUT)")
        assert isinstance(outdated, Failed)
        assert outdated.code == "engine_incompatible"
        assert engine._logged_out
        assert await engine.export_auth_state() is None

    async def test_temporary_ban_fails_the_line(self, make_engine) -> None:
        engine = make_engine()
        await Dispatcher(engine._new_client()).send(TemporaryBanEv(Code=2, Expire=3600))
        (banned,) = await next_events(engine, 1)
        assert isinstance(banned, Failed)
        assert "BLOCKED_BY_USERS" in banned.reason


class TestStoreChanges:
    """A commit to the line's store (SQLite's header change counter moved) after an event is
    reported as AuthChanged, once; an event that changed nothing is not followed by one."""

    async def test_auth_changed_follows_an_event_only_when_the_store_was_written(
        self, make_engine
    ) -> None:
        engine = make_engine()
        engine._translator.__init__("15550001111:7@s.whatsapp.net", engine._media)  # paired
        engine.db.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(engine.db)) as db:
            db.execute("CREATE TABLE ratchets (x)")
            db.commit()
        feed = Dispatcher(engine._new_client())
        await feed.send(event_of(WaMessage(conversation="one"), mid="A1"))
        assert [type(e) for e in await next_events(engine, 2)] == [MessageIn, AuthChanged]
        await feed.send(event_of(WaMessage(conversation="two"), mid="A2"))
        assert [type(e) for e in await next_events(engine, 1)] == [MessageIn]
        assert engine._queue.empty()
        with contextlib.closing(sqlite3.connect(engine.db)) as db:
            db.execute("INSERT INTO ratchets VALUES (1)")  # what Go does while decrypting
            db.commit()
        await feed.send(event_of(WaMessage(conversation="three"), mid="A3"))
        assert [type(e) for e in await next_events(engine, 2)] == [MessageIn, AuthChanged]
        assert engine._queue.empty()
