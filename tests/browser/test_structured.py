"""Locations, contact cards and polls on the browser engine against the stand-in WhatsApp Web (real
Chromium): sent as whatsapp-web.js sendMessage sends them, received from Msg 'add', and poll votes
caught where whatsapp-web.js catches them (pollVoteTableMode.bulkUpsert)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.test_engine import PEER, _ready
from wamesh.engines.base import (
    Ack,
    AckChanged,
    ContactCard,
    Location,
    MessageIn,
    MessageType,
    Poll,
    PollVoted,
    Ready,
    message_id_for,
)
from wamesh.engines.browser.engine import BrowserEngine
from wamesh.engines.rich import STRUCTURED_TYPES, Outgoing
from wamesh.errors import EngineIncompatible, InvalidInput

pytestmark = pytest.mark.browser
PEER_WEB = "15550001111@c.us"
MEMBER_WEB = "15550006666@c.us"
MEMBER = "15550006666@s.whatsapp.net"
CARD = (
    "BEGIN:VCARD\nVERSION:3.0\nFN:Carol Card\n"
    "TEL;type=CELL;type=VOICE;waid=15550007777:+1 555 000 7777\nEND:VCARD"
)
CARD2 = "BEGIN:VCARD\nVERSION:3.0\nN:Dean;Dan;;;\nEND:VCARD"


async def _sent(run: Any) -> list[dict[str, Any]]:
    return await run.page("() => window.__standin.sent()")  # type: ignore[no-any-return]


async def _received(run: Any, script: str, arg: Any = None) -> MessageIn:
    before = len([e for e in run.events if isinstance(e, MessageIn)])
    await run.page(script, arg)
    found = await run.count(MessageIn, before + 1)
    return found[-1]  # type: ignore[no-any-return]


async def _vote(run: Any, voter: str, poll_id: str, local_ids: list[int]) -> PollVoted:
    before = len([e for e in run.events if isinstance(e, PollVoted)])
    await run.page(
        "([v, p, l]) => window.__standin.receivePollVote(v, p, l)", [voter, poll_id, local_ids]
    )
    found = await run.count(PollVoted, before + 1)
    return found[-1]  # type: ignore[no-any-return]


async def _group(run: Any) -> str:
    script = "([m]) => window.__standin.createGroup('Polls', [{jid: m}])"
    return str(await run.page(script, [MEMBER_WEB]))


def test_the_engine_declares_every_structured_kind() -> None:
    assert BrowserEngine.structured_kinds == STRUCTURED_TYPES


class TestSendLocation:
    """A location goes out as whatsapp-web.js sends it: the protobuf functions wrapped, so it is
    a 'text' stanza without mediatype that reaches the recipient (not media acked and lost)."""

    async def test_location_is_delivered(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        place = Location(
            48.8584, 2.2945, "Eiffel Tower", "Champ de Mars, Paris", "https://example.org/e"
        )
        out = Outgoing(PEER, message_id_for("structured", "location"), location=place)
        sent = await run.engine.send_message(out)
        assert (sent.type, sent.text, sent.location) == (MessageType.LOCATION, "", place)
        [record] = await _sent(run)
        assert (record["type"], record["lat"], record["lng"], record["body"]) == (
            "location",
            48.8584,
            2.2945,
            "",
        )
        assert record["loc"] == "Eiffel Tower\nChamp de Mars, Paris"
        assert record["clientUrl"] == "https://example.org/e"
        assert (record["stanzaType"], record["mediatype"], record["undelivered"]) == (
            "text",
            None,
            None,
        )
        assert record["error"] is None
        acks = await run.count(AckChanged, 2)
        assert [(a.message_id, a.ack) for a in acks] == [
            (sent.id, Ack.SERVER),
            (sent.id, Ack.DEVICE),
        ]
        again = await run.engine.send_message(out)
        assert (again.id, again.location) == (sent.id, place)
        assert len(await _sent(run)) == 1

    async def test_a_url_alone_is_the_description(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        place = Location(-33.8568, 151.2153, url="https://example.org/opera")
        out = Outgoing(PEER, message_id_for("structured", "url"), location=place)
        sent = await run.engine.send_message(out)
        [record] = await _sent(run)
        assert record["loc"] == record["clientUrl"] == "https://example.org/opera"
        assert sent.location == place

    async def test_missing_module_fails_the_request_not_the_line(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        await run.page("() => window.__standin.breakModule('WALinkify')")
        await run.count(Ready, 2, timeout=60)
        place = Location(1.0, 2.0, "Somewhere")
        with pytest.raises(EngineIncompatible, match="WALinkify"):
            await run.engine.send_message(
                Outgoing(PEER, message_id_for("structured", "broken"), location=place)
            )
        text = await run.engine.send_text(PEER, "still here", message_id_for("structured", "t"))
        assert text.text == "still here"


class TestSendContactCards:
    """One card is a 'vcard' message (its text parsed by WhatsApp Web), several a 'multi_vcard'."""

    async def test_one_card_and_several(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        one = (ContactCard("Carol", CARD),)
        sent = await run.engine.send_message(
            Outgoing(PEER, message_id_for("structured", "card"), contacts=one)
        )
        assert (sent.type, sent.text, sent.contacts) == (MessageType.CONTACT, "", one)
        two = (ContactCard("Carol Card", CARD), ContactCard("Dan Dean", CARD2))
        both = await run.engine.send_message(
            Outgoing(PEER, message_id_for("structured", "cards"), contacts=two)
        )
        assert both.contacts == two
        card, cards = await _sent(run)
        assert (card["type"], card["body"], card["mediatype"], card["error"]) == (
            "vcard",
            CARD,
            "vcard",
            None,
        )
        assert card["vcards"] == [{"name": "Carol", "vcard": CARD}]
        assert (cards["type"], cards["body"], cards["mediatype"], cards["error"]) == (
            "multi_vcard",
            None,
            "contact_array",
            None,
        )
        assert cards["vcards"] == [{"name": c.name, "vcard": c.vcard} for c in two]

    async def test_a_card_whatsapp_web_cannot_read_is_refused(
        self, start_engine: Callable[..., Any]
    ) -> None:
        run = await _ready(start_engine)
        broken = (ContactCard("Nobody", "BEGIN:VCARD\nFN:Nobody"),)
        with pytest.raises(InvalidInput, match="vCard"):
            await run.engine.send_message(
                Outgoing(PEER, message_id_for("structured", "bad"), contacts=broken)
            )
        assert await _sent(run) == []


class TestSendPoll:
    """A poll: its options numbered by localId, how many may be chosen, a 32-byte secret."""

    async def test_poll_is_sent_with_its_secret(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        poll = Poll("Lunch?", ("pizza", "sushi", "salad"), 2)
        sent = await run.engine.send_message(
            Outgoing(PEER, message_id_for("structured", "poll"), poll=poll)
        )
        assert (sent.type, sent.text, sent.poll) == (MessageType.POLL, "", poll)
        [record] = await _sent(run)
        assert (record["type"], record["kind"], record["pollName"]) == (
            "poll_creation",
            "pollCreation",
            "Lunch?",
        )
        assert record["pollOptions"] == [
            {"name": "pizza", "localId": 0},
            {"name": "sushi", "localId": 1},
            {"name": "salad", "localId": 2},
        ]
        assert record["pollSelectableOptionsCount"] == 2
        assert len(base64.b64decode(record["messageSecret"])) == 32
        assert (record["stanzaType"], record["error"], record["undelivered"]) == (
            "poll",
            None,
            None,
        )


class TestReceive:
    """Received locations, cards and polls are delivered with their content, in groups with the
    author as the sender."""

    async def test_each_kind_arrives(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        located = await _received(
            run,
            "([p]) => window.__standin.receiveLocation(p, 52.5163, 13.3777, {name: 'Gate', "
            "address: 'Pariser Platz, Berlin', url: 'https://example.org/gate'})",
            [PEER_WEB],
        )
        assert (located.message.type, located.message.text, located.message.sender) == (
            MessageType.LOCATION,
            "",
            PEER,
        )
        assert located.message.location == Location(
            52.5163, 13.3777, "Gate", "Pariser Platz, Berlin", "https://example.org/gate"
        )
        assert located.download is None
        card = await _received(
            run, "([p, c]) => window.__standin.receiveVcard(p, c)", [PEER_WEB, CARD]
        )
        assert (card.message.type, card.message.text) == (MessageType.CONTACT, "")
        assert card.message.contacts == (ContactCard("Carol Card", CARD),)
        cards = await _received(
            run, "([p, c]) => window.__standin.receiveMultiVcard(p, c)", [PEER_WEB, [CARD, CARD2]]
        )
        assert cards.message.contacts == (
            ContactCard("Carol Card", CARD),
            ContactCard("Dan Dean", CARD2),
        )
        poll = await _received(
            run,
            "([p]) => window.__standin.receivePoll(p, 'Which day?', ['Mon', 'Tue'], "
            "{multiple: true})",
            [PEER_WEB],
        )
        assert (poll.message.type, poll.message.text) == (MessageType.POLL, "")
        assert poll.message.poll == Poll("Which day?", ("Mon", "Tue"), 0)

    async def test_in_a_group_the_author_sends(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        group = await _group(run)
        located = await _received(
            run,
            "([g, m]) => window.__standin.receiveLocation(g, 1.5, 2.5, {name: 'Here', author: m})",
            [group, MEMBER_WEB],
        )
        assert (located.message.chat_id, located.message.sender) == (group, MEMBER)
        assert located.message.location == Location(1.5, 2.5, "Here")
        poll = await _received(
            run,
            "([g, m]) => window.__standin.receivePoll(g, 'Tea?', ['tea', 'coffee'], {author: m})",
            [group, MEMBER_WEB],
        )
        assert (poll.message.chat_id, poll.message.sender) == (group, MEMBER)
        assert poll.message.poll == Poll("Tea?", ("tea", "coffee"), 1)


class TestPollVotes:
    """A vote is the voter's whole current selection by option name (empty: withdrawn), on the
    line's polls and received ones, loaded or only stored."""

    async def test_votes_on_own_and_received_polls(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        mid = message_id_for("structured", "vote")
        poll = Poll("Lunch?", ("pizza", "sushi", "salad"))
        await run.engine.send_message(Outgoing(PEER, mid, poll=poll))
        voted = await _vote(run, PEER_WEB, mid, [0, 2])
        assert (voted.poll_id, voted.chat_id, voted.voter, voted.selected) == (
            mid,
            PEER,
            PEER,
            ("pizza", "salad"),
        )
        assert abs(voted.timestamp - datetime.now(UTC)) < timedelta(minutes=1)
        withdrawn = await _vote(run, PEER_WEB, mid, [])
        assert (withdrawn.poll_id, withdrawn.selected) == (mid, ())
        received = await _received(
            run,
            "([p]) => window.__standin.receivePoll(p, 'Which day?', ['Mon', 'Tue'])",
            [PEER_WEB],
        )
        other = await _vote(run, PEER_WEB, received.message.id, [1])
        assert (other.poll_id, other.selected) == (received.message.id, ("Tue",))

    async def test_vote_in_a_group_names_the_member(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        group = await _group(run)
        poll = await _received(
            run,
            "([g, m]) => window.__standin.receivePoll(g, 'Tea?', ['tea', 'coffee'], {author: m})",
            [group, MEMBER_WEB],
        )
        voted = await _vote(run, MEMBER_WEB, poll.message.id, [1])
        assert (voted.chat_id, voted.voter, voted.selected) == (group, MEMBER, ("coffee",))

    async def test_vote_on_a_poll_only_stored(self, start_engine: Callable[..., Any]) -> None:
        run = await _ready(start_engine)
        mid = message_id_for("structured", "stored")
        await run.engine.send_message(Outgoing(PEER, mid, poll=Poll("Stay?", ("yes", "no"), 1)))
        # After a reload WhatsApp Web has the poll in its database, not in the loaded collection.
        page = run.engine._page
        assert page is not None
        await page.reload()
        await run.count(Ready, 2)
        loaded = "([i]) => !!window.require('WAWebCollections').Msg.get(i)"
        assert await run.page(loaded, [f"true_{PEER_WEB}_{mid}"]) is False
        voted = await _vote(run, PEER_WEB, mid, [0])
        assert (voted.poll_id, voted.selected) == (mid, ("yes",))
