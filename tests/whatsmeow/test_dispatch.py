"""neonize's own event classes, serialized and passed through its real dispatcher
(`aioze.events.Event.execute`, the QR callback) into the engine's adapter."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import sqlite3

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from neonize.aioze.events import (
    ChatPresenceEv,
    ClientOutdatedEv,
    ConnectedEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    PresenceEv,
    ReceiptEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto.Neonize_pb2 import JID, Device, MessageInfo, MessageSource
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    AudioMessage,
    ContactMessage,
    ContactsArrayMessage,
    ContextInfo,
    DocumentMessage,
    ExtendedTextMessage,
    ImageMessage,
    LocationMessage,
    MessageContextInfo,
    PollCreationMessage,
    PollEncValue,
    PollUpdateMessage,
    PollVoteMessage,
    ProtocolMessage,
    ReactionMessage,
    StickerMessage,
    VideoMessage,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WaMessage

from tests.whatsmeow.conftest import Dispatcher, GoSide, next_events
from wamesh.engines.base import (
    Ack,
    AckChanged,
    AuthChanged,
    Authenticated,
    ContactCard,
    Disconnected,
    Failed,
    Location,
    LoggedOut,
    MessageEdited,
    MessageIn,
    MessageOut,
    MessageRevoked,
    MessageType,
    Poll,
    PollVoted,
    PresenceChanged,
    Qr,
    ReactionChanged,
    Ready,
)
from wamesh.engines.rich import STRUCTURED_TYPES, Outgoing, SubscribesPresence
from wamesh.engines.whatsmeow import WhatsmeowEngine

ME = JID(User="15550001111", RawAgent=0, Device=7, Integrator=0, Server="s.whatsapp.net")
CONTACT = JID(User="15550002222", RawAgent=0, Device=0, Integrator=0, Server="s.whatsapp.net")
EMPTY = JID(User="", RawAgent=0, Device=0, Integrator=0, Server="", IsEmpty=True)
ME_LID = JID(User="210000001111", RawAgent=0, Device=7, Integrator=0, Server="lid", IsEmpty=False)


def own_device(lid: JID = ME_LID) -> Device:
    """The own device as Go hands it to neonize before any event (FetchMe: Store.ID, Store.LID)."""
    return Device(JID=ME, LID=lid, Platform="android", BussinessName="", PushName="Me",
                  Initialized=True)  # fmt: skip


def event_of(
    content: WaMessage,
    *,
    from_me: bool = False,
    mid: str = "ABCDEF0123",
    chat: JID = CONTACT,
    sender: JID | None = None,
    sender_alt: JID = EMPTY,
) -> MessageEv:
    source = MessageSource(
        Chat=chat,
        Sender=sender or (ME if from_me else CONTACT),
        IsFromMe=from_me,
        IsGroup=chat.Server == "g.us",
        SenderAlt=sender_alt,
        RecipientAlt=EMPTY,
        BroadcastListOwner=EMPTY,
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


GROUP = JID(User="120363000000000001", RawAgent=0, Device=0, Integrator=0, Server="g.us")
CONTACT_LID = JID(User="98765432100001", RawAgent=0, Device=0, Integrator=0, Server="lid")
MINE = "15550001111@s.whatsapp.net"
THEIRS = "15550002222@s.whatsapp.net"
THEIR_LID = "98765432100001@lid"
GROUP_ID = "120363000000000001@g.us"
VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL;type=CELL;waid=15550003333:+15550003333\nEND:VCARD"


def hkdf_sha256(secret: bytes, info: bytes) -> bytes:
    """RFC 5869 written out (no salt: HashLen zero bytes; one 32-byte block), as whatsmeow's
    hkdfutil.SHA256(secret, nil, info, 32)."""
    prk = hmac.new(bytes(32), secret, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def vote_of(
    poll_id: str,
    secret: bytes,
    poll_sender: str,
    voter: str,
    names: list[str],
    *,
    from_me: bool = False,
    remote: str = "",
    participant: str = "",
) -> WaMessage:
    """A vote as whatsmeow's EncryptPollVote builds it (msgsecret.go): the names hashed
    (HashPollOptions), AES-GCM under the key generateMsgSecretKey derives from the poll's secret
    (info = poll id + poll sender + voter + "Poll Vote"; additional data = poll id NUL voter),
    a random 12-byte IV; the key names the poll as the voter sees it."""
    info = poll_id.encode() + poll_sender.encode() + voter.encode() + b"Poll Vote"
    iv = os.urandom(12)
    hashes = [hashlib.sha256(n.encode()).digest() for n in names]
    plain = PollVoteMessage(selectedOptions=hashes).SerializeToString()
    payload = AESGCM(hkdf_sha256(secret, info)).encrypt(iv, plain, f"{poll_id}\0{voter}".encode())
    key = MessageKey(remoteJID=remote, fromMe=from_me, ID=poll_id)
    if participant:
        key.participant = participant
    update = PollUpdateMessage(
        pollCreationMessageKey=key, vote=PollEncValue(encPayload=payload, encIV=iv)
    )
    return WaMessage(pollUpdateMessage=update)


def poll_of(question: str, options: tuple[str, ...], count: int = 0) -> PollCreationMessage:
    return PollCreationMessage(
        name=question,
        options=[PollCreationMessage.Option(optionName=o) for o in options],
        selectableOptionsCount=count,
    )


async def ready_engine(make_engine) -> tuple[WhatsmeowEngine, Dispatcher, GoSide]:
    """A paired engine Go has called back (Ready), its client's Go functions a GoSide."""
    engine = make_engine()
    engine._translator.__init__("15550001111:7@s.whatsapp.net", engine._media, engine._polls)
    client = engine._new_client()
    feed = Dispatcher(client)
    await feed.send(own_device())
    await feed.send(ConnectedEv(status=True))
    assert [type(e) for e in await next_events(engine, 2)] == [Authenticated, Ready]
    go = GoSide()
    client._NewAClient__client = go
    return engine, feed, go


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
        await feed.send(own_device())  # Go's first callback once paired (go:main.go:2526-2534)
        await feed.send(PairStatusEv(ID=ME, BusinessName="", Platform="android", Status=2))
        await feed.send(ConnectedEv(status=True))
        assert await next_events(engine, 2) == [
            Authenticated(),
            Ready("15550001111@s.whatsapp.net", "210000001111@lid"),
        ]
        assert engine._translator.device == "15550001111:7@s.whatsapp.net"
        assert engine._live  # Go called back: calls may go through

    async def test_a_restored_device_is_ready_on_connected(self, make_engine) -> None:
        engine = make_engine()
        engine._translator.__init__("15550001111:7@s.whatsapp.net", engine._media, engine._polls)
        client = engine._new_client()
        assert client.jid.User == "15550001111"
        assert client.jid.Device == 7
        assert not client.new_device  # resumes its own device, never the store's first one
        feed = Dispatcher(client)
        await feed.send(own_device())
        await feed.send(ConnectedEv(status=True))
        assert await next_events(engine, 2) == [
            Authenticated(),
            Ready("15550001111@s.whatsapp.net", "210000001111@lid"),
        ]

    async def test_a_device_without_a_lid_is_ready_without_one(self, make_engine) -> None:
        """A store from before whatsmeow kept LIDs: Store.LID empty (whatsmeow fills it at
        connect success, so the next session has it)."""
        engine = make_engine()
        engine._translator.__init__("15550001111:7@s.whatsapp.net", engine._media, engine._polls)
        feed = Dispatcher(engine._new_client())
        await feed.send(own_device(EMPTY))
        await feed.send(ConnectedEv(status=True))
        assert (await next_events(engine, 2))[1] == Ready("15550001111@s.whatsapp.net")

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


class TestStructuredThroughTheDispatcher:
    """Locations, contact cards (one, or an array) and polls (V1, V2, V3) become messages of their
    type carrying their content, with no text and no download; a reply stays a reply."""

    async def test_locations_contact_cards_and_polls(self, make_engine) -> None:
        engine = make_engine()
        feed = Dispatcher(engine._new_client())
        where = LocationMessage(
            degreesLatitude=52.5163, degreesLongitude=13.3777, name="Brandenburger Tor",
            address="Pariser Platz", URL="https://example.org/tor",
            contextInfo=ContextInfo(stanzaID="QUOTED1"),
        )  # fmt: skip
        eve = ContactMessage(displayName="Eve", vcard=VCARD.replace("Bob", "Eve"))
        contents = [
            WaMessage(locationMessage=where),
            WaMessage(locationMessage=LocationMessage(degreesLatitude=-33.9, degreesLongitude=18.4)),
            WaMessage(contactMessage=ContactMessage(displayName="Bob", vcard=VCARD)),
            WaMessage(contactMessage=ContactMessage(vcard=VCARD)),  # named by its FN
            WaMessage(contactsArrayMessage=ContactsArrayMessage(
                displayName="2 contacts", contacts=[ContactMessage(displayName="Bob", vcard=VCARD), eve]
            )),
            WaMessage(pollCreationMessage=poll_of("Lunch?", ("Pizza", "Sushi"))),
            WaMessage(pollCreationMessageV2=poll_of("Where?", ("Here", "There"), 1)),
            WaMessage(pollCreationMessageV3=poll_of("When?", ("Now", "Later", "Never"), 1)),
        ]  # fmt: skip
        for n, content in enumerate(contents):
            await feed.send(event_of(content, mid=f"S{n}"))
        received = await next_events(engine, len(contents))
        assert all(isinstance(e, MessageIn) and e.download is None for e in received)
        messages = [e.message for e in received]  # type: ignore[union-attr]
        assert all(m.text == "" for m in messages)
        assert [m.type for m in messages] == [MessageType.LOCATION] * 2 + [
            MessageType.CONTACT
        ] * 3 + [MessageType.POLL] * 3
        assert messages[0].location == Location(
            52.5163, 13.3777, "Brandenburger Tor", "Pariser Platz", "https://example.org/tor"
        )
        assert messages[0].reply_to == "QUOTED1"
        assert messages[1].location == Location(-33.9, 18.4)
        bob = ContactCard("Bob", VCARD)
        assert messages[2].contacts == messages[3].contacts == (bob,)
        assert messages[4].contacts == (bob, ContactCard("Eve", eve.vcard))
        assert messages[5].poll == Poll("Lunch?", ("Pizza", "Sushi"), 0)
        assert messages[6].poll == Poll("Where?", ("Here", "There"), 1)
        assert messages[7].poll == Poll("When?", ("Now", "Later", "Never"), 1)


class TestPollVotesThroughTheDispatcher:
    """A vote encrypted as whatsmeow encrypts it, with the message secret of a poll the engine saw,
    becomes PollVoted with the voter's whole selection by option name (empty: withdrawn); a vote
    no candidate key opens, or on a poll the engine never saw, becomes nothing."""

    async def test_votes_on_a_received_poll(self, make_engine) -> None:
        engine = make_engine()
        feed = Dispatcher(engine._new_client())
        secret = os.urandom(32)
        poll = poll_of("Lunch?", ("Pizza", "Sushi", "Salad"))
        context = MessageContextInfo(messageSecret=secret)
        await feed.send(
            event_of(WaMessage(pollCreationMessage=poll, messageContextInfo=context), mid="POLL1")
        )
        (created,) = await next_events(engine, 1)
        assert isinstance(created, MessageIn)
        # the contact votes on their own poll (their key says fromMe), changes it, withdraws
        mine = {"from_me": True, "remote": MINE}
        await feed.send(
            event_of(vote_of("POLL1", secret, THEIRS, THEIRS, ["Sushi", "Salad"], **mine), mid="V1")
        )
        await feed.send(event_of(vote_of("POLL1", secret, THEIRS, THEIRS, [], **mine), mid="V2"))
        # the line votes from its phone: the key names the contact's chat
        own = vote_of("POLL1", secret, THEIRS, MINE, ["Pizza"], remote=THEIRS)
        await feed.send(event_of(own, from_me=True, mid="V3"))
        # encrypted for someone else, and a vote on a poll never seen: nothing
        stranger = vote_of("POLL1", secret, THEIRS, "15550009999@s.whatsapp.net", ["Pizza"], **mine)
        await feed.send(event_of(stranger, mid="V4"))
        await feed.send(
            event_of(vote_of("NOPE", secret, THEIRS, THEIRS, ["Pizza"], **mine), mid="V5")
        )
        await feed.send(event_of(WaMessage(conversation="after the votes"), mid="T1"))
        when = created.message.timestamp
        events = await next_events(engine, 4)
        assert events[:3] == [
            PollVoted("POLL1", THEIRS, THEIRS, ("Sushi", "Salad"), when),
            PollVoted("POLL1", THEIRS, THEIRS, (), when),
            PollVoted("POLL1", THEIRS, MINE, ("Pizza",), when),
        ]
        assert isinstance(events[3], MessageIn)
        assert events[3].message.text == "after the votes"

    async def test_a_vote_encrypted_for_the_voters_lid_in_a_group(self, make_engine) -> None:
        """whatsmeow#1217: the event names the voter by phone number, the vote was encrypted
        with their LID (SenderAlt), and the key names the poll's sender by LID too."""
        engine = make_engine()
        feed = Dispatcher(engine._new_client())
        secret = os.urandom(32)
        poll = WaMessage(
            pollCreationMessageV3=poll_of("Meet?", ("Mon", "Tue"), 1),
            messageContextInfo=MessageContextInfo(messageSecret=secret),
        )
        await feed.send(event_of(poll, mid="POLL2", chat=GROUP, sender=CONTACT))
        (created,) = await next_events(engine, 1)
        assert isinstance(created, MessageIn)
        assert created.message.chat_id == GROUP_ID
        vote = vote_of(
            "POLL2", secret, THEIR_LID, THEIR_LID, ["Tue"], remote=GROUP_ID, participant=THEIR_LID
        )
        await feed.send(
            event_of(vote, mid="V1", chat=GROUP, sender=CONTACT, sender_alt=CONTACT_LID)
        )
        (voted,) = await next_events(engine, 1)
        assert voted == PollVoted("POLL2", GROUP_ID, THEIRS, ("Tue",), created.message.timestamp)


class TestSendingUpToGo:
    """What the engine hands Go (the waE2E message neonize's send_message serializes) for a
    location, contact cards and a poll, with replies and mentions; the Message it returns; votes
    on its own poll; presence subscriptions and presence events."""

    async def test_declares_the_structured_kinds_and_presence_subscriptions(
        self, make_engine
    ) -> None:
        engine = make_engine()
        assert engine.structured_kinds == STRUCTURED_TYPES
        assert isinstance(engine, SubscribesPresence)

    async def test_a_location_replying_and_mentioning(self, make_engine) -> None:
        engine, feed, go = await ready_engine(make_engine)
        await feed.send(event_of(WaMessage(conversation="where are you?"), mid="QUOTED1"))
        await next_events(engine, 1)
        where = Location(52.5163, 13.3777, "Brandenburger Tor", None, "https://example.org/tor")
        out = Outgoing(THEIRS, "m1", location=where, reply_to="QUOTED1", mentions=(THEIRS,))
        sent = await engine.send_message(out)
        ((to, content),) = go.sent
        assert (to.User, to.Server) == ("15550002222", "s.whatsapp.net")
        body = content.locationMessage
        assert (body.degreesLatitude, body.degreesLongitude) == (52.5163, 13.3777)
        assert (body.name, body.URL) == ("Brandenburger Tor", "https://example.org/tor")
        assert not body.HasField("address")
        assert body.contextInfo.stanzaID == "QUOTED1"
        assert body.contextInfo.quotedMessage.conversation == "where are you?"
        assert list(body.contextInfo.mentionedJID) == [THEIRS]
        assert sent.id == "3EB0000000000000000001"
        assert (sent.type, sent.location, sent.text) == (MessageType.LOCATION, where, "")
        assert (sent.reply_to, sent.mentions, sent.from_me) == ("QUOTED1", (THEIRS,), True)
        assert await engine.send_message(out) == sent  # the same message id: not sent again
        assert len(go.sent) == 1

    async def test_one_contact_card_and_several(self, make_engine) -> None:
        engine, _, go = await ready_engine(make_engine)
        bob, eve = ContactCard("Bob", VCARD), ContactCard("Eve", VCARD.replace("Bob", "Eve"))
        one = await engine.send_message(Outgoing(THEIRS, "m1", contacts=(bob,)))
        two = await engine.send_message(Outgoing(THEIRS, "m2", contacts=(bob, eve)))
        (_, single), (_, array) = go.sent
        assert (single.contactMessage.displayName, single.contactMessage.vcard) == ("Bob", VCARD)
        assert not single.contactMessage.HasField("contextInfo")  # no reply, no mention
        assert array.contactsArrayMessage.displayName == "2 contacts"
        assert [c.displayName for c in array.contactsArrayMessage.contacts] == ["Bob", "Eve"]
        assert (one.type, one.contacts) == (MessageType.CONTACT, (bob,))
        assert (two.type, two.contacts) == (MessageType.CONTACT, (bob, eve))

    async def test_a_poll_its_votes_and_its_forward(self, make_engine) -> None:
        engine, feed, go = await ready_engine(make_engine)
        poll = Poll("Lunch?", ("Pizza", "Sushi", "Salad"), 2)
        sent = await engine.send_message(Outgoing(GROUP_ID, "m1", poll=poll))
        ((to, content),) = go.sent
        assert to.Server == "g.us"
        created = content.pollCreationMessage
        assert created.name == "Lunch?"
        assert [o.optionName for o in created.options] == ["Pizza", "Sushi", "Salad"]
        assert created.selectableOptionsCount == 2
        secret = content.messageContextInfo.messageSecret
        assert len(secret) == 32
        assert (sent.type, sent.poll, sent.text) == (MessageType.POLL, poll, "")
        # a member votes: their key names the poll's sender, the line, as participant
        vote = vote_of(
            sent.id, secret, MINE, THEIRS, ["Pizza", "Salad"], remote=GROUP_ID, participant=MINE
        )
        await feed.send(event_of(vote, mid="V1", chat=GROUP, sender=CONTACT))
        (voted,) = await next_events(engine, 1)
        assert isinstance(voted, PollVoted)
        assert (voted.poll_id, voted.chat_id, voted.voter) == (sent.id, GROUP_ID, THEIRS)
        assert voted.selected == ("Pizza", "Salad")
        forwarded = await engine.forward(GROUP_ID, sent.id, THEIRS, "m2")
        (_, copy) = go.sent[1]
        assert copy.pollCreationMessage.contextInfo.isForwarded
        assert copy.messageContextInfo.messageSecret not in (b"", secret)  # a poll of its own
        assert (forwarded.poll, forwarded.chat_id) == (poll, THEIRS)

    async def test_subscribe_presence_then_presence_and_chat_states(self, make_engine) -> None:
        engine, feed, go = await ready_engine(make_engine)
        await engine.subscribe_presence(THEIRS)
        assert [(j.User, j.Server) for j in go.subscribed] == [("15550002222", "s.whatsapp.net")]
        await feed.send(PresenceEv(From=CONTACT, Unavailable=False, LastSeen=0))
        await feed.send(PresenceEv(From=CONTACT, Unavailable=True, LastSeen=0))
        source = event_of(WaMessage(conversation="x")).Info.MessageSource
        await feed.send(ChatPresenceEv(MessageSource=source, State=1, Media=2))
        events = await next_events(engine, 3)
        assert all(isinstance(e, PresenceChanged) for e in events)
        assert [(e.chat_id, e.jid, e.presence) for e in events] == [  # type: ignore[union-attr]
            (THEIRS, THEIRS, "available"),
            (THEIRS, THEIRS, "unavailable"),
            (THEIRS, THEIRS, "recording"),
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
        engine._translator.__init__(
            "15550001111:7@s.whatsapp.net", engine._media, engine._polls
        )  # paired
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
