"""JSON Schemas (2020-12) of the REST API's bodies: one definition used to validate requests and
to write the OpenAPI document, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

from wamesh.constants import (
    DESIRED_STATES,
    ENGINES,
    EVENT_TYPES,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    STATUSES,
)
from wamesh.jid import GROUP_JID_PATTERN, PHONE_NUMBER_PATTERN, RECIPIENT_PATTERN
from wamesh.media.ingest import BASE64_DATA_PATTERN, BASE64_PATTERN, MEDIA_URL_PATTERN

Schema = dict[str, Any]

NULLABLE_STRING: Schema = {"type": ["string", "null"]}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP: Schema = {"type": ["string", "null"], "format": "date-time"}
EVENT_TYPE: Schema = {"type": "string", "enum": list(EVENT_TYPES)}
STATUS: Schema = {"type": "string", "enum": list(STATUSES)}


NO_NUL = r"^[^\u0000]*$"
# What Python's str.isspace() calls whitespace, spelt out: `\s` means different things to
# ECMA-262 (the dialect JSON Schema names, used by clients) and to Python's re (used here).
SPACE = r"\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def message_text() -> Schema:
    """A message's text: 1 to MAX_TEXT_LENGTH characters, not all whitespace (str.isspace),
    as `check_text` requires; two patterns, each matched in linear time."""
    return {
        **text(1, MAX_TEXT_LENGTH),
        "allOf": [
            {"pattern": f"[^\\u0000{SPACE}]", "x-wamesh-expected": "a text not only whitespace"}
        ],
        "description": "Not blank",
    }


def text(min_length: int, max_length: int) -> Schema:
    """A string without NUL characters (PostgreSQL text cannot store them)."""
    return {
        "type": "string",
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": NO_NUL,
        "x-wamesh-expected": "text without NUL characters",
    }


def stripped(pattern: str) -> str:
    """`pattern` with the surrounding whitespace the code strips (str.strip) allowed."""
    return f"^[{SPACE}]*{pattern}[{SPACE}]*$"


RECIPIENT: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    "pattern": stripped(RECIPIENT_PATTERN),
    "x-wamesh-code": "invalid_recipient",
    "description": "A phone number with its country code (7 to 15 digits, an optional +, at "
    "most two of ` ().-` between digits) or a JID (`<digits>@s.whatsapp.net`, `@lid`, `@g.us`)",
}
PHONE: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 40,
    "pattern": stripped(PHONE_NUMBER_PATTERN),
    "x-wamesh-code": "invalid_value",
    "description": "A phone number with its country code: 7 to 15 digits, the first not 0, "
    "an optional leading +, spaces and dashes",
}
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
NAME: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME_LENGTH,
    "pattern": r"^[^\u0000]*[^\u0000" + SPACE + r"][^\u0000]*$",
    "x-wamesh-expected": "a name that is not only whitespace",
}
METADATA: Schema = {
    "type": "object",
    "maxProperties": 50,
    "propertyNames": text(1, 100),
    "additionalProperties": {"anyOf": [text(0, 1000), {"type": ["number", "boolean", "null"]}]},
    "description": "Your own labels: up to 50 keys, each a string, number, boolean or null.",
}


# Named schemas: the OpenAPI document lists them under components/schemas and refers to them
# with `$ref` wherever the same object is used; validation keeps using the objects inline.
COMPONENTS: dict[str, Schema] = {}


def named(name: str, schema: Schema) -> Schema:
    """Register `schema` as the OpenAPI component `name` and return it (the same object)."""
    if COMPONENTS.setdefault(name, schema) is not schema:
        raise ValueError(f"two schemas are named {name}")
    return schema


def obj(properties: Schema, required: tuple[str, ...] = (), *, closed: bool = True) -> Schema:
    """An object schema; closed objects reject unknown fields."""
    schema: Schema = {"type": "object", "properties": properties, "required": list(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


PROBLEM = obj(
    {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "field": {"type": "string"},
        "session_status": {"type": "string"},
        "engine": {"type": "string"},
        "dependency": {"type": "string", "enum": ["postgresql", "redis"]},
        "limit": {"type": "integer", "description": "The limit broken (body_too_large: bytes)"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    ("type", "title", "status", "detail", "code"),
    closed=False,
)

WORKER = {
    "type": ["object", "null"],
    "properties": {
        "address": {"type": "string"},
        "host": {"type": "string"},
        "pid": {"type": "integer"},
        "started_at": {"type": "string", "format": "date-time"},
    },
}

SESSION = obj(
    {
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "engine": {"type": "string", "enum": list(ENGINES)},
        "status": STATUS,
        "qr": NULLABLE_STRING,
        "qr_expires_at": NULLABLE_TIMESTAMP,
        "me": NULLABLE_STRING,
        "me_lid": {
            "type": ["string", "null"],
            "description": "the line's own LID (<digits>@lid) from its worker's live status: "
            "GET /v1/sessions/{id} only, null when unknown (engine, no worker, not ready)",
        },
        "webhook_url": NULLABLE_STRING,
        "webhook_events": {"type": "array", "items": {"type": "string"}},
        "webhook_enabled": {"type": "boolean"},
        "metadata": METADATA,
        "last_error": NULLABLE_STRING,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "desired_state": {
            "type": "string",
            "enum": list(DESIRED_STATES),
            "description": "started: the line wants a worker (pool mode serves it); stopped: "
            "it wants none (POST .../start, .../stop; a logged-out line becomes stopped)",
        },
        "worker": WORKER,
        "live_status": {"type": ["string", "null"]},
    },
    ("id", "name", "engine", "status", "webhook_events", "metadata", "created_at", "updated_at"),
    closed=False,
)

_URL_PATH = r"(/[^\u0000-\u001f\u007f-\u009f" + SPACE + r"]*)?"
WEBHOOK_URL: Schema = {
    "type": ["string", "null"],
    "maxLength": 2048,
    "pattern": r"^https?://[A-Za-z0-9.-]+(:" + _PORT + r")?" + _URL_PATH + "$",
    "x-wamesh-expected": "an http:// or https:// URL: a host of letters, digits, dots and "
    "dashes, an optional port up to 65535, and a path without spaces or control characters",
}
# Base64 of 24 to 50 bytes after the prefix (wamesh.lines.check_secret agrees).
WEBHOOK_SECRET: Schema = {
    "type": "string",
    "pattern": r"^whsec_(?:[A-Za-z0-9+/]{4}){8,16}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
    "x-wamesh-expected": "whsec_ and the base64 of 24 to 50 bytes",
}

SESSION_CREATE = obj(
    {
        "name": NAME,
        "engine": {"type": "string", "enum": list(ENGINES)},
        "webhook_url": WEBHOOK_URL,
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_events": {"type": "array", "items": EVENT_TYPE, "maxItems": len(EVENT_TYPES)},
        "metadata": METADATA,
    },
    ("name",),
)

SESSION_CREATED = obj(
    {"session": SESSION, "webhook_secret": {"type": "string"}}, ("session", "webhook_secret")
)

SESSION_PATCH = obj(
    {
        "name": NAME,
        "webhook_url": WEBHOOK_URL,
        "webhook_events": {"type": "array", "items": EVENT_TYPE, "maxItems": len(EVENT_TYPES)},
        "webhook_enabled": {"type": "boolean"},
        "metadata": METADATA,
    }
)

SESSION_LIST = obj({"sessions": {"type": "array", "items": SESSION}}, ("sessions",))
SECRET = obj({"webhook_secret": {"type": "string"}}, ("webhook_secret",))

# Rich messages: sending, acting on messages, and the event payloads ---------------------------
MEDIA_KIND: Schema = {
    "type": "string",
    "enum": ["image", "video", "audio", "voice", "document", "sticker"],
    "description": "voice: a push-to-talk note (ogg/opus); sticker: webp",
}
MESSAGE_TYPE: Schema = {
    "type": "string",
    "description": "text, a media kind (image, video, audio, voice, document, sticker), "
    "location, contact or poll",
}
# Printable ASCII without spaces, as wamesh.session.messaging.check_message_id requires.
MESSAGE_ID = {
    **text(1, 200),
    "pattern": "^[!-~]+$",
    "description": "A WhatsApp message id, e.g. 3EB0C767D26A1D6F6E0B0E",
}
MEDIA_CONTENT = named(
    "MediaContent",
    {
        **obj(
            {
                "kind": MEDIA_KIND,
                "url": {
                    "type": "string",
                    "maxLength": 2048,
                    "pattern": MEDIA_URL_PATTERN,
                    "x-wamesh-code": "invalid_media_url",
                    "description": "http(s), a host name or IPv4 address, an optional port, no "
                    "whitespace; fetched once by the gateway (SSRF guard, size cap, timeout)",
                },
                "data": {
                    "type": "string",
                    "minLength": 1,
                    "pattern": BASE64_DATA_PATTERN,
                    "description": "Base64 (padded; a line break may follow any group of "
                    "four, as `base64` prints it), or a data: URL (data:image/png;base64,...)",
                },
                "media_id": {**text(1, 100), "description": "From POST .../media"},
                "mimetype": text(1, 200),
                "filename": {**text(1, 255), "description": "Shown for documents"},
            },
            ("kind",),
        ),
        "oneOf": [{"required": ["url"]}, {"required": ["data"]}, {"required": ["media_id"]}],
        "description": "Exactly one of url, data or media_id.",
    },
)
LOCATION = named(
    "Location",
    obj(
        {
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            "name": {**text(0, 1000), "description": "Shown under the map (a place's name)"},
            "address": text(0, 1000),
            "url": {"type": "string", "maxLength": 2048, "pattern": r"^https?://"},
        },
        ("latitude", "longitude"),
    ),
)
LOCATION_DATA = named(
    "LocationData",
    obj(
        {
            "latitude": {"type": "number"},
            "longitude": {"type": "number"},
            "name": NULLABLE_STRING,
            "address": NULLABLE_STRING,
            "url": NULLABLE_STRING,
        },
        ("latitude", "longitude", "name", "address", "url"),
        closed=False,
    ),
)
# A vCard line `FN[;params]:<name>` whose name is not blank (wamesh.structured.vcard_name).
VCARD_WITH_NAME = f"(?:^|\\n)[Ff][Nn](?:;[^:\\r\\n]*)?:[^\\n]*[^\\u0000{SPACE}]"
CONTACT_CARD_INPUT = named(
    "ContactCardInput",
    {
        **obj(
            {
                "name": {
                    **NAME,
                    "maxLength": 256,
                    "description": "The name shown (default: the vCard's FN)",
                },
                "phone": {**PHONE, "description": "A phone number: a vCard is written"},
                "vcard": {
                    **text(1, 10_000),
                    "pattern": f"^[{SPACE}]*[Bb][Ee][Gg][Ii][Nn]:[Vv][Cc][Aa][Rr][Dd][^\\u0000]*$",
                    "description": "A whole vCard (BEGIN:VCARD...)",
                },
            }
        ),
        "anyOf": [
            {"required": ["vcard", "name"], "not": {"required": ["phone"]}},
            {
                "required": ["vcard"],
                "properties": {"vcard": {"pattern": VCARD_WITH_NAME}},
                "not": {"required": ["phone"]},
            },
            {"required": ["name", "phone"], "not": {"required": ["vcard"]}},
        ],
        "description": "A vCard (with a name: `name`, or its own FN line), or a name and a "
        "phone number (a vCard is written); not a vCard and a phone.",
    },
)
CONTACT_CARD = named(
    "ContactCard",
    obj({"name": {"type": "string"}, "vcard": {"type": "string"}}, ("name", "vcard")),
)
POLL = named(
    "Poll",
    obj(
        {
            "question": {**NAME, "maxLength": 255, "description": "Not blank"},
            "options": {
                "type": "array",
                "items": {**NAME, "maxLength": 100},
                "minItems": 2,
                "maxItems": 12,
                "uniqueItems": True,
                "description": "2 to 12 distinct options, none blank",
            },
            "selectable_count": {
                "type": "integer",
                "minimum": 0,
                "maximum": 12,
                "description": "How many options a voter may choose: 0 (the default, as in "
                "WhatsApp's own poll composer) any number, 1 a single one",
            },
        },
        ("question", "options"),
    ),
)
_STRUCTURED = ("location", "contacts", "poll")
_SEND_SHAPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("text", ("media", *_STRUCTURED)),
    ("media", _STRUCTURED),
    *((kind, ("text", "media", *(k for k in _STRUCTURED if k != kind))) for kind in _STRUCTURED),
)


def _only(field: str, *excluded: str) -> Schema:
    """`field` present and none of `excluded` (a text alone must not be blank)."""
    shape: Schema = {"required": [field], "not": {"anyOf": [{"required": [x]} for x in excluded]}}
    if field == "text":
        shape["properties"] = {"text": message_text()}
    return shape


SEND_MESSAGE = named(
    "SendMessageRequest",
    {
        **obj(
            {
                "to": RECIPIENT,
                "text": {**text(1, MAX_TEXT_LENGTH), "description": "The text, or the caption"},
                "media": MEDIA_CONTENT,
                "location": LOCATION,
                "contacts": {
                    "type": "array",
                    "items": CONTACT_CARD_INPUT,
                    "minItems": 1,
                    "maxItems": 50,
                    "description": "One contact card or several",
                },
                "poll": POLL,
                "reply_to": {**MESSAGE_ID, "description": "A message id in the same chat"},
                "mentions": {
                    "type": "array",
                    "items": RECIPIENT,
                    "maxItems": 100,
                    "description": "JIDs or phone numbers to mention (write @<number> in text)",
                },
                "client_message_id": text(1, 200),
            },
            ("to",),
        ),
        "anyOf": [_only(shape, *others) for shape, others in _SEND_SHAPES],
        "description": "A text; media with an optional caption; or one of location, contacts "
        "and poll (without text).",
    },
)

MESSAGE_SENT = named(
    "SendMessageResponse",
    obj(
        {
            "message_id": {"type": "string"},
            "chat_id": {"type": "string"},
            "client_message_id": {"type": "string"},
            "duplicate": {"type": "boolean"},
            "timestamp": TIMESTAMP,
        },
        ("message_id", "chat_id", "client_message_id", "duplicate"),
    ),
)
REACTION_REQUEST = named(
    "ReactionRequest",
    obj(
        {
            "chat_id": {**RECIPIENT, "description": "The chat the message is in"},
            "emoji": {**text(0, 20), "description": "One emoji; empty removes the reaction"},
        },
        ("chat_id", "emoji"),
    ),
)
EDIT_REQUEST = named(
    "EditMessageRequest",
    obj({"chat_id": RECIPIENT, "text": message_text()}, ("chat_id", "text")),
)
FORWARD_REQUEST = named(
    "ForwardMessageRequest",
    obj(
        {
            "chat_id": {**RECIPIENT, "description": "The chat the message is in"},
            "to": RECIPIENT,
            "client_message_id": text(1, 200),
        },
        ("chat_id", "to"),
    ),
)
MESSAGE_ACTION = named(
    "MessageActionResult",
    obj(
        {
            "message_id": {"type": "string"},
            "chat_id": NULLABLE_STRING,
            "action": {"type": "string", "enum": ["reaction", "edit", "revoke"]},
        },
        ("message_id", "chat_id", "action"),
    ),
)
CONTACT = named(
    "Contact",
    obj(
        {
            "exists": {"type": "boolean", "description": "Whether it is on WhatsApp"},
            "jid": {**NULLABLE_STRING, "description": "Its phone-number JID, when known"},
            "lid": {**NULLABLE_STRING, "description": "Its LID (`...@lid`), when known"},
        },
        ("exists", "jid", "lid"),
    ),
)
GROUP_PARTICIPANT = named(
    "GroupParticipant",
    obj(
        {
            "jid": {"type": "string", "description": "The member's JID (phone number or LID)"},
            "is_admin": {"type": "boolean"},
            "is_super_admin": {"type": "boolean", "description": "The group's creator"},
        },
        ("jid", "is_admin", "is_super_admin"),
    ),
)
GROUP = named(
    "Group",
    obj(
        {
            "id": {"type": "string", "description": "The group's JID (`...@g.us`)"},
            "subject": {"type": "string"},
            "description": {"type": "string"},
            "participants": {"type": "array", "items": GROUP_PARTICIPANT},
        },
        ("id", "subject", "description", "participants"),
    ),
)
GROUP_LIST = named(
    "GroupList",
    obj({"groups": {"type": "array", "items": GROUP}}, ("groups",)),
)
CHAT_PRESENCES = ["typing", "recording", "paused", "online", "offline"]
PRESENCE_REQUEST = named(
    "PresenceRequest",
    {
        **obj(
            {
                "chat_id": {
                    **RECIPIENT,
                    "description": "The chat (phone number or JID); required for typing, "
                    "recording and paused, absent for online and offline",
                },
                "presence": {"type": "string", "enum": CHAT_PRESENCES},
            },
            ("presence",),
        ),
        # A chat state needs a chat; online and offline apply everywhere and take none.
        "if": {"properties": {"presence": {"enum": ["typing", "recording", "paused"]}}},
        "then": {"required": ["chat_id"]},
        "else": {"properties": {"chat_id": {"not": {}}}},
    },
)
MEDIA = named(
    "Media",
    obj(
        {
            "media_id": {"type": "string"},
            "mimetype": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string", "description": "Hex SHA-256 of the bytes"},
            "filename": NULLABLE_STRING,
            "url": {"type": "string", "description": "GET it from the gateway (API key)"},
        },
        ("media_id", "mimetype", "size", "sha256", "url"),
        closed=False,
    ),
)
_EVENT_BASE = {
    "message_id": {"type": "string"},
    "chat_id": {"type": "string"},
    "from": {"type": "string"},
    "timestamp": TIMESTAMP,
}
REACTION_EVENT = named(
    "MessageReactionEvent",
    obj(
        {**_EVENT_BASE, "emoji": {"type": "string"}, "from_me": {"type": "boolean"}},
        ("message_id", "chat_id", "from", "emoji", "from_me", "timestamp"),
        closed=False,
    ),
)
EDITED_EVENT = named(
    "MessageEditedEvent",
    obj(
        {**_EVENT_BASE, "text": {"type": "string"}},
        ("message_id", "chat_id", "from", "text", "timestamp"),
        closed=False,
    ),
)
REVOKED_EVENT = named(
    "MessageRevokedEvent",
    obj(_EVENT_BASE, ("message_id", "chat_id", "from", "timestamp"), closed=False),
)
POLL_VOTE_EVENT = named(
    "PollVoteEvent",
    obj(
        {
            **_EVENT_BASE,
            "message_id": {"type": "string", "description": "The poll's message id"},
            "from": {"type": "string", "description": "The voter"},
            "selected": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The voter's whole current selection (empty: withdrawn)",
            },
        },
        ("message_id", "chat_id", "from", "selected", "timestamp"),
        closed=False,
    ),
)
GROUP_PARTICIPANTS_EVENT = named(
    "GroupParticipantsEvent",
    obj(
        {
            "group_id": {"type": "string"},
            "action": {
                "type": "string",
                "enum": ["add", "remove", "leave", "join", "promote", "demote"],
            },
            "participants": {"type": "array", "items": {"type": "string"}},
            "author": NULLABLE_STRING,
            "timestamp": TIMESTAMP,
        },
        ("group_id", "action", "participants", "author", "timestamp"),
        closed=False,
    ),
)
PRESENCE_EVENT = named(
    "PresenceUpdateEvent",
    obj(
        {
            "chat_id": {"type": "string"},
            "jid": {"type": "string"},
            "presence": {
                "type": "string",
                "enum": ["available", "unavailable", "typing", "recording", "paused"],
            },
            "timestamp": TIMESTAMP,
        },
        ("chat_id", "jid", "presence", "timestamp"),
        closed=False,
    ),
)
# ---------------------------------------------------------------------------------------------

QR = obj(
    {"status": STATUS, "qr": {"type": "string", "minLength": 1}, "expires_at": NULLABLE_TIMESTAMP},
    ("status", "qr"),
)

STATUS_REPLY = obj({"status": STATUS}, ("status",))

MESSAGE = named(
    "Message",
    obj(
        {
            "id": {"type": "string"},
            "type": MESSAGE_TYPE,
            "chat_id": {"type": "string"},
            "chat_type": {"type": "string", "enum": ["user", "group"]},
            "from": {"type": "string"},
            "author": {
                "type": "string",
                "description": "Who wrote it: the member in a group, else the sender",
            },
            "to": {"type": "string"},
            "from_me": {"type": "boolean"},
            "text": {"type": "string", "description": "The text, or the caption of media"},
            "timestamp": NULLABLE_TIMESTAMP,
            "ack": {"type": "string"},
            "reply_to": NULLABLE_STRING,
            "mentions": {"type": "array", "items": {"type": "string"}},
            "media": {
                "anyOf": [MEDIA, {"type": "null"}],
                "description": "null for text, and when storing received media failed",
            },
            "media_error": {"type": "string", "description": "Why media is null, if it is"},
            "location": {"anyOf": [LOCATION_DATA, {"type": "null"}]},
            "contacts": {"type": "array", "items": CONTACT_CARD},
            "poll": {"anyOf": [POLL, {"type": "null"}]},
        },
        closed=False,
    ),
)

PAIRING_CODE_REQUEST = obj(
    {
        "phone": {
            **PHONE,
            "description": "The number of the WhatsApp account to link, with its country code: "
            "digits, optionally a leading +, spaces and dashes (7 to 15 digits).",
        }
    },
    ("phone",),
)
PAIRING_CODE = obj(
    {
        "code": {"type": "string", "description": "Eight characters shown as XXXX-XXXX"},
        "phone": {"type": "string", "description": "The number as digits"},
        "expires_at": TIMESTAMP,
    },
    ("code", "phone", "expires_at"),
)
PAIRING_CODE_ENTRY = obj({"code": text(1, 40)}, ("code",))

SCAN_REPLY = obj({"status": STATUS, "me": {"type": "string"}}, ("status",))
_INBOUND_STRUCTURED = {"location": "location", "contact": "contacts", "poll": "poll"}


def _none_of(*fields: str) -> Schema:
    return {"not": {"anyOf": [{"required": [f]} for f in fields]}}


def _inbound_shapes() -> list[Schema]:
    """What `wamesh.engines.sandbox.inbound.inbound_type` requires of each message type."""
    media_fields = ("media", "media_id")
    structured = tuple(_INBOUND_STRUCTURED.values())
    shapes: list[Schema] = [
        {  # text, the default: a text that is not blank, nothing else
            "if": {"properties": {"type": {"const": "text"}}},
            "then": {
                "required": ["text"],
                "properties": {"text": message_text()},
                **_none_of(*media_fields, *structured),
            },
        },
        {  # media: its bytes or a stored media_id (one of them), a caption at most
            "if": {"properties": {"type": MEDIA_KIND}, "required": ["type"]},
            "then": {
                "oneOf": [{"required": [f]} for f in media_fields],
                **_none_of(*structured),
            },
        },
    ]
    for kind, field in _INBOUND_STRUCTURED.items():
        others = [f for f in structured if f != field]
        shapes.append(
            {
                "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                "then": {"required": [field], **_none_of("text", *media_fields, *others)},
            }
        )
    shapes.append(
        {  # a group's message names its author; a contact's own message has none
            "if": {"properties": {"from": {"pattern": stripped(GROUP_JID_PATTERN)}}},
            "then": {"required": ["author"]},
            "else": _none_of("author"),
        }
    )
    return shapes


INBOUND = {
    **obj(
        {
            "from": {**RECIPIENT, "description": "The contact, or a group (then `author`)"},
            "text": {**text(1, MAX_TEXT_LENGTH), "description": "The text, or the caption"},
            "type": {
                "type": "string",
                "enum": ["text", *MEDIA_KIND["enum"], *_INBOUND_STRUCTURED],
            },
            "media": {
                "type": "string",
                "minLength": 1,
                "pattern": BASE64_PATTERN,
                "allOf": [{"pattern": "[A-Za-z0-9+/]"}],  # at least one byte
                "description": "The media's bytes, base64",
            },
            "media_id": {
                **text(1, 100),
                "description": "Instead of media: one of the line's stored media (POST .../media)",
            },
            "mimetype": text(1, 200),
            "filename": text(1, 255),
            "reply_to": MESSAGE_ID,
            "mentions": {"type": "array", "items": RECIPIENT, "maxItems": 100},
            "author": {**RECIPIENT, "description": "In a group (`from` a group): who wrote it"},
            "location": {**LOCATION, "description": "For type location"},
            "contacts": {
                "type": "array",
                "items": CONTACT_CARD_INPUT,
                "minItems": 1,
                "maxItems": 50,
                "description": "For type contact",
            },
            "poll": {**POLL, "description": "For type poll"},
        },
        ("from",),
    ),
    "allOf": _inbound_shapes(),
    "description": "type text (the default) needs a text that is not blank; a media type its "
    "media or a media_id, with an optional caption; location, contact and poll their content "
    "alone. A message from a group names its author; a contact's own message has none.",
}
INBOUND_REPLY = obj({"message": MESSAGE}, ("message",))
SANDBOX_ACTION = named(
    "SandboxAction",
    obj(
        {
            "kind": {
                "type": "string",
                "enum": ["reaction", "edit", "revoke", "forward", "read", "presence", "subscribe"],
            },
            "chat_id": {"type": "string"},
            "message_id": {"type": "string"},
            "emoji": {"type": "string"},
            "text": {"type": "string"},
            "to": {"type": "string"},
            "new_message_id": {"type": "string"},
            "presence": {"type": "string"},
            "timestamp": NULLABLE_TIMESTAMP,
        },
        ("kind", "chat_id", "message_id"),
        closed=False,
    ),
)
SENT_LIST = obj(
    {
        "messages": {"type": "array", "items": MESSAGE},
        "actions": {"type": "array", "items": SANDBOX_ACTION},
    },
    ("messages",),
)
INJECT_REACTION = obj(
    {"from": RECIPIENT, "message_id": MESSAGE_ID, "emoji": text(0, 20)},
    ("from", "message_id", "emoji"),
)
INJECT_EDIT = obj(
    {"from": RECIPIENT, "message_id": MESSAGE_ID, "text": message_text()},
    ("from", "message_id", "text"),
)
NOT_ON_WHATSAPP = obj(
    {"phone": PHONE},
    ("phone",),
)
CREATE_GROUP = obj(
    {
        "subject": {**NAME, "maxLength": 100, "description": "Not blank"},
        "description": text(0, 2000),
        "participants": {
            "type": "array",
            "maxItems": 100,
            "items": obj(
                {
                    "jid": RECIPIENT,
                    "is_admin": {"type": "boolean"},
                    "is_super_admin": {"type": "boolean"},
                },
                ("jid",),
            ),
        },
    },
    ("subject",),
)
GROUP_CREATED = obj({"group_id": {"type": "string"}}, ("group_id",))
CHANGE_PARTICIPANTS = obj(
    {
        "action": GROUP_PARTICIPANTS_EVENT["properties"]["action"],
        "participants": {"type": "array", "items": RECIPIENT, "minItems": 1, "maxItems": 100},
        "author": RECIPIENT,
    },
    ("action", "participants"),
)
INJECT_PRESENCE = obj(
    {
        "chat_id": RECIPIENT,
        "jid": RECIPIENT,
        "presence": PRESENCE_EVENT["properties"]["presence"],
    },
    ("chat_id", "jid", "presence"),
)
OK_REPLY = obj({"ok": {"type": "boolean"}}, ("ok",))
INJECT_POLL_VOTE = obj(
    {
        "from": {**RECIPIENT, "description": "The voter"},
        "chat_id": {**RECIPIENT, "description": "The poll's chat (default: the voter's)"},
        "message_id": {**MESSAGE_ID, "description": "The poll's message id"},
        "selected": {
            "type": "array",
            "items": text(1, 100),
            "maxItems": 12,
            "uniqueItems": True,
            "description": "The voter's whole selection by option name (empty: withdraw); "
            "options the poll lacks, or more than it allows, are 422",
        },
    },
    ("from", "message_id", "selected"),
)
SUBSCRIBED = obj({"jid": {"type": "string"}}, ("jid",))
INJECT_REVOKE = obj({"from": RECIPIENT, "message_id": MESSAGE_ID}, ("from", "message_id"))
PHONE_DISCONNECT = obj({"logout": {"type": "boolean"}})

ATTEMPT = obj(
    {
        "attempt": {"type": "integer"},
        "started_at": TIMESTAMP,
        "status_code": {"type": ["integer", "null"]},
        "latency_ms": {"type": "integer"},
        "error": NULLABLE_STRING,
        "response_snippet": NULLABLE_STRING,
    },
    closed=False,
)

DELIVERY = obj(
    {
        "id": {"type": "string"},
        "session_id": {"type": "string"},
        "event_type": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "delivering", "delivered", "failed"]},
        "attempts": {"type": "integer"},
        "last_error": NULLABLE_STRING,
        "last_status_code": {"type": ["integer", "null"]},
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "delivered_at": NULLABLE_TIMESTAMP,
        "payload": {"type": "object"},
        "attempt_log": {"type": "array", "items": ATTEMPT},
    },
    ("id", "session_id", "event_type", "status", "attempts"),
    closed=False,
)
DELIVERY_LIST = obj({"deliveries": {"type": "array", "items": DELIVERY}}, ("deliveries",))
REDELIVER_FAILED = obj({"since": {"type": "string", "format": "date-time"}}, ("since",))
REDELIVERED = obj({"count": {"type": "integer"}}, ("count",))

HEALTH = obj({"status": {"type": "string"}}, ("status",), closed=False)

REPEAT: Schema = obj(
    {
        "every": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "unit": {"type": "string", "enum": ["seconds", "minutes", "hours", "days"]},
        "until": {"type": "string", "format": "date-time"},
        "count": {"type": "integer", "minimum": 1, "maximum": 100_000},
    },
    ("every", "unit"),
)
REMINDER_CREATE = {
    **obj(
        {
            "recipient": RECIPIENT,
            "text": message_text(),
            "due_at": {
                "type": "string",
                "format": "date-time",
                "description": "ISO 8601 with a zone",
            },
            "delay_seconds": {"type": "integer", "minimum": 0, "maximum": 10 * 365 * 86400},
            "repeat": REPEAT,
            "client_key": text(1, 200),
        },
        ("recipient", "text"),
    ),
    "oneOf": [{"required": ["due_at"]}, {"required": ["delay_seconds"]}],
    "description": "Exactly one of due_at and delay_seconds says when.",
}
REMINDER_PATCH = obj(
    {
        "recipient": RECIPIENT,
        "text": message_text(),
        "due_at": {"type": "string", "format": "date-time"},
    }
)
REMINDER = obj(
    {
        "id": {"type": "string"},
        "series_id": {"type": "string"},
        "session_id": {"type": "string"},
        "recipient": {"type": "string"},
        "text": {"type": "string"},
        "due_at": TIMESTAMP,
        "repeat": {"type": ["object", "null"]},
        "occurrence": {"type": "integer"},
        "status": {"type": "string", "enum": ["pending", "sent", "failed", "cancelled"]},
        "attempts": {"type": "integer"},
        "next_attempt_at": NULLABLE_TIMESTAMP,
        "last_error": NULLABLE_STRING,
        "sent_message_id": NULLABLE_STRING,
        "client_key": NULLABLE_STRING,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    },
    ("id", "session_id", "recipient", "text", "due_at", "status", "occurrence"),
    closed=False,
)
REMINDER_LIST = obj({"reminders": {"type": "array", "items": REMINDER}}, ("reminders",))

MEDIA_INFO = named(
    "MediaInfo",
    obj(
        {
            "media_id": {"type": "string", "format": "uuid"},
            "mimetype": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "filename": NULLABLE_STRING,
            "url": {"type": "string", "description": "Where to download it (GET, with the key)"},
        },
        ("media_id", "mimetype", "size", "sha256", "filename", "url"),
    ),
)
MEDIA_UPLOAD = named(
    "MediaUpload",
    {
        **obj(
            {"file": {"type": "string", "format": "binary", "description": "The one file part"}},
            ("file",),
            closed=False,
        ),
        # A part's name travels in a quoted-string, which cannot hold control characters (RFC
        # 9110 qdtext): a body with one is malformed (400 malformed_body).
        "propertyNames": {"pattern": "^[^\\u0000-\\u001f\\u007f]*$"},
    },
)
BINARY: Schema = {"type": "string", "format": "binary"}
