"""WhatsApp ids (JIDs): parse what users type, normalise what engines report.

Users are `<digits>@s.whatsapp.net` everywhere in wamesh (WhatsApp Web's `@c.us` is accepted and
translated), groups `<id>@g.us`, hidden-number users `<id>@lid`.
"""

from __future__ import annotations

import re

from wamesh.constants import PHONE_DIGITS
from wamesh.errors import InvalidInput, shorten

USER_SERVER = "s.whatsapp.net"
LEGACY_USER_SERVER = "c.us"
GROUP_SERVER = "g.us"
LID_SERVER = "lid"
_SERVERS = frozenset(
    {USER_SERVER, LEGACY_USER_SERVER, GROUP_SERVER, LID_SERVER, "broadcast", "newsletter"}
)
_CODE = "invalid_recipient"
# What `parse_recipient` accepts once stripped, spelt once for the code and the REST schemas (a
# dialect both Python's re and ECMA-262 read alike): a phone number of 7 to 15 digits, the first
# after an optional +, at most two of ` ().-` between digits; or a user, LID or group JID.
PHONE_PATTERN = r"\+?[0-9](?:[ ().-]{0,2}[0-9]){6,14}[ ().-]{0,2}"
USER_JID_PATTERN = (
    r"[0-9]{6,20}(?::[0-9]{1,3})?@(?:s\.whatsapp\.net|c\.us|lid|broadcast|newsletter)"
)
GROUP_JID_PATTERN = r"[0-9]{6,25}(?:-[0-9]{6,15})?@g\.us"
RECIPIENT_PATTERN = f"(?:{PHONE_PATTERN}|{USER_JID_PATTERN}|{GROUP_JID_PATTERN})"
# What `parse_contact` accepts (a phone number, a user JID or a LID) and `parse_group` (a group
# JID, or its id alone).
CONTACT_PATTERN = (
    f"(?:{PHONE_PATTERN}|[0-9]{{6,20}}(?::[0-9]{{1,3}})?@(?:s\\.whatsapp\\.net|c\\.us|lid))"
)
GROUP_ID_PATTERN = r"[0-9]{6,25}(?:-[0-9]{6,15})?(?:@g\.us)?"
# What `parse_phone` accepts once stripped: spaces and dashes anywhere, an optional +, 7 to 15
# digits, the first not 0.
PHONE_NUMBER_PATTERN = r"[ -]*\+?[ -]*[1-9](?:[ -]*[0-9]){6,14}[ -]*"
_PHONE = re.compile(PHONE_PATTERN)
_JID = re.compile(f"(?:{USER_JID_PATTERN}|{GROUP_JID_PATTERN})")
_PHONE_SEPARATORS = re.compile(r"[ -]")


def normalize_jid(value: str) -> str:
    """A JID with `@c.us` turned into `@s.whatsapp.net`."""
    user, _, server = value.partition("@")
    return f"{user}@{USER_SERVER}" if server == LEGACY_USER_SERVER else value


def parse_recipient(value: str, field: str = "to") -> str:
    """A phone number (digits, optional + and separators) or a JID, as a normalised JID."""
    text = value.strip()
    if "@" in text:
        if not _JID.fullmatch(text):
            said = f"{field}: {shorten(value)} is not a valid WhatsApp id"
            raise InvalidInput(said, field, _CODE)
        return normalize_jid(text)
    if not _PHONE.fullmatch(text):
        raise InvalidInput(
            f"{field}: expected a phone number in international form (7 to 15 digits, an "
            f"optional +, at most two of ` ().-` between digits) or a JID, got {shorten(value)}",
            field,
            _CODE,
        )
    return f"{re.sub(r'[^0-9]', '', text)}@{USER_SERVER}"


def parse_group(value: str, field: str = "group_id") -> str:
    """A group JID (`<id>@g.us`, or the id alone)."""
    jid = parse_recipient(value if "@" in value else f"{value}@{GROUP_SERVER}", field)
    if not jid.endswith("@" + GROUP_SERVER):
        raise InvalidInput(f"{field}: {shorten(value)} is not a group", field)
    return jid


def parse_phone(value: str, field: str = "phone") -> str:
    """A phone number in international form as digits: an optional leading +, spaces and dashes
    are dropped; 7 to 15 digits, the first not 0 (a country code never starts with 0, and
    whatsmeow refuses such numbers too)."""
    digits = _PHONE_SEPARATORS.sub("", value.strip()).removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(
            f"{field}: expected a phone number with its country code (digits, an optional +, "
            f"spaces and dashes), got {shorten(value)}",
            field,
        )
    low, high = PHONE_DIGITS
    if not low <= len(digits) <= high:
        raise InvalidInput(
            f"{field}: a phone number has {low} to {high} digits, got {len(digits)}", field
        )
    if digits.startswith("0"):
        raise InvalidInput(f"{field}: start with the country code, not 0", field)
    return digits
