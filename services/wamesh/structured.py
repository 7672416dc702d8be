"""Structured messages: locations, contact cards (vCard) and polls, checked the same way wherever
they enter (REST, gRPC, the sandbox's phone) and carried on the wire as `common.proto`'s
`Location`, `ContactCard` and `Poll`.

Limits are WhatsApp's where it has one (a poll offers 2 to 12 options: WhatsApp's poll composer;
whatsmeow's `BuildPollCreation` takes any count, the phones show at most 12), else generous bounds
that keep one message small. A contact card is sent as the vCard text; `{name, phone}` is turned
into a vCard 3.0 the way WhatsApp's own cards are written (a `TEL` with `waid=<digits>`, which is
what makes the phone offer "Message" and "Add contact").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from wamesh.engines.base import ContactCard, Location, Poll
from wamesh.errors import InvalidInput, Unprocessable
from wamesh.jid import parse_phone
from wamesh.v1 import common_pb2

MAX_LOCATION_TEXT = 1000
MAX_URL = 2048
MAX_CARDS = 50
MAX_VCARD = 10_000
MAX_CARD_NAME = 256
MIN_POLL_OPTIONS = 2
MAX_POLL_OPTIONS = 12
MAX_POLL_QUESTION = 255
MAX_POLL_OPTION = 100
_FN = re.compile(r"^FN(?:;[^:\r\n]*)?:(.*)$", re.IGNORECASE | re.MULTILINE)


def check_location(location: Location, field: str = "location") -> Location:
    """Degrees in range, texts bounded; empty texts become None."""
    lat, lng = location.latitude, location.longitude
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise InvalidInput(f"{field}.latitude must be -90..90", f"{field}.latitude")
    if not (math.isfinite(lng) and -180 <= lng <= 180):
        raise InvalidInput(f"{field}.longitude must be -180..180", f"{field}.longitude")
    for name, value, limit in (
        ("name", location.name, MAX_LOCATION_TEXT),
        ("address", location.address, MAX_LOCATION_TEXT),
        ("url", location.url, MAX_URL),
    ):
        if value is not None and len(value) > limit:
            raise InvalidInput(f"{field}.{name} is longer than {limit} characters", field)
    if location.url and not location.url.startswith(("http://", "https://")):
        raise InvalidInput(f"{field}.url must be an http(s) URL", f"{field}.url")
    return Location(lat, lng, location.name or None, location.address or None, location.url or None)


def card(name: str = "", phone: str = "", vcard: str = "", field: str = "contacts") -> ContactCard:
    """A card from a vCard text (its FN is the name unless `name` is given), or from a name and a
    phone number (a vCard is written)."""
    if vcard:
        if phone:
            raise InvalidInput(f"{field}: give a vcard or a phone, not both", field)
        return _checked_card(name or vcard_name(vcard), vcard, field)
    if not phone or not name.strip():
        raise InvalidInput(f"{field}: each card needs a vcard, or a name and a phone", field)
    return _checked_card(name, vcard_for(name, phone, field), field)


def check_contacts(
    cards: Sequence[ContactCard], field: str = "contacts"
) -> tuple[ContactCard, ...]:
    """One to MAX_CARDS cards, each a vCard with a name."""
    if not 1 <= len(cards) <= MAX_CARDS:
        raise InvalidInput(f"{field}: 1 to {MAX_CARDS} cards", field)
    return tuple(_checked_card(c.name or vcard_name(c.vcard), c.vcard, field) for c in cards)


def _checked_card(name: str, vcard: str, field: str) -> ContactCard:
    if not vcard.lstrip().upper().startswith("BEGIN:VCARD"):
        raise InvalidInput(f"{field}: a vcard starts with BEGIN:VCARD", field)
    if len(vcard) > MAX_VCARD:
        raise InvalidInput(f"{field}: a vcard is at most {MAX_VCARD} characters", field)
    if not name.strip():
        raise InvalidInput(f"{field}: the card needs a name (or an FN line)", field)
    if len(name) > MAX_CARD_NAME:
        raise InvalidInput(f"{field}: a name is at most {MAX_CARD_NAME} characters", field)
    return ContactCard(name.strip(), vcard)


def vcard_for(name: str, phone: str, field: str = "contacts") -> str:
    """A vCard 3.0 for `name` at `phone`, with WhatsApp's `waid` on the number."""
    digits = parse_phone(phone, field)
    escaped = _escape(name.strip())
    return (
        "BEGIN:VCARD\nVERSION:3.0\n"
        f"FN:{escaped}\n"
        f"TEL;type=CELL;type=VOICE;waid={digits}:+{digits}\n"
        "END:VCARD"
    )


def vcard_name(vcard: str) -> str:
    """The first non-blank FN (formatted name) of a vCard, unescaped; empty when it has none."""
    for found in _FN.finditer(vcard):
        name = found.group(1).strip()
        if name:
            return name.replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")
    return ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", " ")


def check_poll(poll: Poll, field: str = "poll") -> Poll:
    """A question, 2 to 12 distinct options (none blank; kept as given, as WhatsApp shows them),
    and how many a voter may choose: 0 (any
    number); a count at or above the number of options also means any, and is written as 0."""
    question = poll.question
    if not question.strip() or len(question) > MAX_POLL_QUESTION:
        raise InvalidInput(
            f"{field}.question: 1 to {MAX_POLL_QUESTION} characters, not blank", f"{field}.question"
        )
    options = tuple(poll.options)
    if not MIN_POLL_OPTIONS <= len(options) <= MAX_POLL_OPTIONS:
        raise InvalidInput(
            f"{field}.options: {MIN_POLL_OPTIONS} to {MAX_POLL_OPTIONS} options",
            f"{field}.options",
        )
    if any(not o.strip() or len(o) > MAX_POLL_OPTION for o in options):
        raise InvalidInput(
            f"{field}.options: each 1 to {MAX_POLL_OPTION} characters, not blank",
            f"{field}.options",
        )
    if len(set(options)) != len(options):
        raise InvalidInput(f"{field}.options must be distinct", f"{field}.options")
    if not 0 <= poll.selectable_count <= MAX_POLL_OPTIONS:
        raise InvalidInput(
            f"{field}.selectable_count: 0 (any number) to {MAX_POLL_OPTIONS}",
            f"{field}.selectable_count",
        )
    count = 0 if poll.selectable_count >= len(options) else poll.selectable_count
    return Poll(question, options, count)


def check_vote(poll: Poll, selected: Iterable[str]) -> tuple[str, ...]:
    """A voter's selection on `poll`: distinct options of the poll, at most its limit."""
    chosen = tuple(selected)
    unknown = [s for s in chosen if s not in poll.options]
    if unknown:
        message = f"selected: not an option of the poll: {unknown[0][:100]!r}"
        raise Unprocessable(message, "selected")
    if len(set(chosen)) != len(chosen):
        raise InvalidInput("selected: an option is chosen twice", "selected")
    if poll.selectable_count and len(chosen) > poll.selectable_count:
        raise Unprocessable(
            f"selected: the poll allows {poll.selectable_count} choice(s)", "selected"
        )
    return chosen


# On the wire ----------------------------------------------------------------------------------


def location_from_proto(proto: common_pb2.Location) -> Location:
    """A Location from its protobuf form (empty strings are absent)."""
    return Location(
        proto.latitude,
        proto.longitude,
        proto.name or None,
        proto.address or None,
        proto.url or None,
    )


def contacts_from_proto(cards: Iterable[common_pb2.ContactCard]) -> tuple[ContactCard, ...]:
    """Contact cards from their protobuf form."""
    return tuple(ContactCard(c.name, c.vcard) for c in cards)


def poll_from_proto(proto: common_pb2.Poll) -> Poll:
    """A Poll from its protobuf form."""
    return Poll(proto.question, tuple(proto.options), proto.selectable_count)
