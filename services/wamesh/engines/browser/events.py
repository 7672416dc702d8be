"""Bridge messages (JSON from bridge.js) as normalised engine events.

What the bridge reports and what it becomes:
    qr, pairing_code             Qr (numbered rotations), PairingCode (`ABCD-EFGH`)
    ready                        Authenticated (first time only) and Ready (own id: the phone
                                 number's JID, or the LID when the account has only that; and
                                 the own LID, WAWebUserPrefsMeUser.getMaybeMeLidUser)
    message, ack                 MessageIn / MessageOut, AckChanged (text, media, locations,
                                 contact cards, polls)
    poll_vote                    PollVoted: the voter's whole selection by option name
    disconnected                 Disconnected (conflict, or a reconnect outlasting its grace)
    logged_out                   LoggedOut, once, whichever of WhatsApp Web's signals came first
    failed, incompatible,        Failed: the line cannot go on (blocked, outdated, modules missing)
    boot_timeout
    state, modules, waiting,     nothing: logged (a message waiting to be decrypted is delivered
    skipped, undecryptable,      once it is; a message type not delivered (system, protocol,
                                 ...) is named in the log;
    degraded, error              a missing module the line can work without is named)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from wamesh.engines.base import (
    Ack,
    AckChanged,
    Authenticated,
    ContactCard,
    Disconnected,
    EngineEvent,
    Failed,
    GroupParticipantsChanged,
    Location,
    LoggedOut,
    MediaSource,
    Message,
    MessageEdited,
    MessageIn,
    MessageOut,
    MessageRevoked,
    MessageType,
    PairingCode,
    Poll,
    PollVoted,
    PresenceChanged,
    Qr,
    ReactionChanged,
    Ready,
)
from wamesh.jid import normalize_jid

_LOGGER = logging.getLogger(__name__)
QR_LIFETIME_S = 20
# whatsapp-web.js requests a fresh pairing code every 180000 ms (Client.js requestPairingCode).
PAIRING_CODE_LIFETIME_S = 180
ACKS = {-1: Ack.ERROR, 0: Ack.PENDING, 1: Ack.SERVER, 2: Ack.DEVICE, 3: Ack.READ, 4: Ack.PLAYED}
ENDING_STATES = {
    "TOS_BLOCK": ("WhatsApp blocked this number (TOS_BLOCK)", "engine_error"),
    "SMB_TOS_BLOCK": ("WhatsApp blocked this business number (SMB_TOS_BLOCK)", "engine_error"),
    "PROXYBLOCK": ("WhatsApp refused the connection's address (PROXYBLOCK)", "engine_error"),
    "DEPRECATED_VERSION": (
        "WhatsApp Web says this version is deprecated (DEPRECATED_VERSION)",
        "engine_incompatible",
    ),
}


# WhatsApp Web's chat states (wa-js PresenceModel chatstate.type) as ours.
PRESENCES = {"recording_audio": "recording"}
# WhatsApp Web's message types (whatsapp-web.js Constants.js MessageTypes) as ours.
TYPES = {
    "chat": MessageType.TEXT,
    "ptt": MessageType.VOICE,
    "vcard": MessageType.CONTACT,
    "multi_vcard": MessageType.CONTACT,
    "poll_creation": MessageType.POLL,
}


def message_from(data: dict[str, Any]) -> Message:
    """A bridge message object as a Message; in groups the sender is the author."""
    kind = str(data.get("type") or "chat")
    return Message(
        id=str(data["id"]),
        chat_id=normalize_jid(str(data["chat"])),
        sender=normalize_jid(str(data.get("author") or data["from"])),
        recipient=normalize_jid(str(data["to"])),
        from_me=bool(data["fromMe"]),
        text=str(data.get("body") or ""),
        timestamp=_moment(data.get("t")),
        ack=ACKS.get(int(data.get("ack") or 0), Ack.PENDING),
        type=TYPES.get(kind) or MessageType(kind),
        reply_to=str(data.get("replyTo") or "") or None,
        mentions=tuple(normalize_jid(str(j)) for j in data.get("mentions") or ()),
        location=location_from(data["location"]) if data.get("location") else None,
        contacts=tuple(
            ContactCard(str(c["name"]), str(c["vcard"])) for c in data.get("contacts") or ()
        ),
        poll=poll_from(data["poll"]) if data.get("poll") else None,
    )


def location_from(data: dict[str, Any]) -> Location:
    """WhatsApp Web's location: `loc` is the name and the address on two lines, one of them, or
    the url when there is neither (whatsapp-web.js Location.js writes it, Message.js reads it)."""
    url = str(data.get("url") or "") or None
    text = str(data.get("loc") or "")
    name, _, address = ("" if text == url else text).partition("\n")
    return Location(float(data["lat"]), float(data["lng"]), name or None, address or None, url)


def poll_from(data: dict[str, Any]) -> Poll:
    """WhatsApp Web's poll; `selectable` 0 means any number of options."""
    options = tuple(str(o) for o in data.get("options") or ())
    return Poll(str(data["question"]), options, int(data.get("selectable") or 0))


def _moment(seconds: Any) -> datetime:
    return datetime.fromtimestamp(float(seconds or 0), UTC)


def pairing_code_text(code: str) -> str:
    """WhatsApp's 8-character code as it is shown on screen: `ABCD-EFGH`."""
    plain = code.replace("-", "").strip().upper()
    return f"{plain[:4]}-{plain[4:]}" if len(plain) == 8 else plain


def pairing_code_from(data: dict[str, Any]) -> PairingCode:
    """A bridge `pairing_code` message as a PairingCode."""
    expires = datetime.now(UTC) + timedelta(seconds=PAIRING_CODE_LIFETIME_S)
    return PairingCode(pairing_code_text(str(data["code"])), str(data.get("phone") or ""), expires)


class Translator:
    """Turns bridge messages into engine events, numbering QR rotations."""

    def __init__(self, download: Callable[[dict[str, Any]], MediaSource]) -> None:
        self._download = download
        self._rotation = 0
        self._authenticated = False
        self._logged_out = False
        self._handlers: dict[str, Callable[[dict[str, Any]], list[EngineEvent]]] = {
            "qr": self._qr,
            "pairing_code": lambda d: [pairing_code_from(d)],
            "ready": self._ready,
            "message": self._message,
            "ack": self._ack,
            "reaction": self._reaction,
            "edited": self._edited,
            "revoked": self._revoked,
            "group": self._group,
            "presence": self._presence,
            "poll_vote": self._poll_vote,
            "logged_out": self._logged_out_event,
            "disconnected": lambda d: [Disconnected(str(d.get("reason") or "disconnected"))],
            "failed": self._failed,
            "incompatible": self._incompatible,
            "boot_timeout": lambda d: [
                Failed("WhatsApp Web did not start (no Debug.VERSION)", "engine_error")
            ],
        }

    def translate(self, data: dict[str, Any]) -> list[EngineEvent]:
        """Zero or more events for one bridge message."""
        kind = str(data.get("type"))
        handler = self._handlers.get(kind)
        if handler is None:
            _log_only(kind, data)
            return []
        return handler(data)

    def _qr(self, data: dict[str, Any]) -> list[EngineEvent]:
        self._rotation += 1
        expires = datetime.now(UTC) + timedelta(seconds=QR_LIFETIME_S)
        return [Qr(str(data["code"]), expires, self._rotation)]

    def _ready(self, data: dict[str, Any]) -> list[EngineEvent]:
        events: list[EngineEvent] = [] if self._authenticated else [Authenticated()]
        self._authenticated = True
        lid = data.get("lid")  # getMaybeMeLidUser: unknown before WhatsApp Web has it
        return [*events, Ready(normalize_jid(str(data["me"])), str(lid) if lid else None)]

    def _message(self, data: dict[str, Any]) -> list[EngineEvent]:
        message = message_from(data["message"])
        if message.from_me:
            return [MessageOut(message)]
        media = data["message"].get("media")
        return [MessageIn(message, self._download(media) if media else None)]

    def _reaction(self, data: dict[str, Any]) -> list[EngineEvent]:
        return [
            ReactionChanged(
                str(data["id"]),
                normalize_jid(str(data["chat"])),
                normalize_jid(str(data["from"])),
                str(data.get("emoji") or ""),
                bool(data.get("fromMe")),
                _moment(data.get("t")),
            )
        ]

    def _edited(self, data: dict[str, Any]) -> list[EngineEvent]:
        chat, sender = normalize_jid(str(data["chat"])), normalize_jid(str(data["from"]))
        return [MessageEdited(str(data["id"]), chat, sender, str(data["text"]), _moment(data["t"]))]

    def _group(self, data: dict[str, Any]) -> list[EngineEvent]:
        members = tuple(normalize_jid(str(j)) for j in data.get("participants") or ())
        author = normalize_jid(str(data["author"])) if data.get("author") else None
        moment = _moment(data.get("t"))
        return [
            GroupParticipantsChanged(
                str(data["group"]), str(data["action"]), members, author, moment
            )
        ]

    def _presence(self, data: dict[str, Any]) -> list[EngineEvent]:
        chat, jid = normalize_jid(str(data["chat"])), normalize_jid(str(data["jid"]))
        presence = PRESENCES.get(str(data["presence"]), str(data["presence"]))
        return [PresenceChanged(chat, jid, presence, _moment(data.get("t")))]

    def _poll_vote(self, data: dict[str, Any]) -> list[EngineEvent]:
        chat, voter = normalize_jid(str(data["chat"])), normalize_jid(str(data["voter"]))
        selected = tuple(str(name) for name in data.get("selected") or ())
        return [PollVoted(str(data["poll"]), chat, voter, selected, _moment(data.get("t")))]

    def _revoked(self, data: dict[str, Any]) -> list[EngineEvent]:
        chat, sender = normalize_jid(str(data["chat"])), normalize_jid(str(data["from"]))
        return [MessageRevoked(str(data["id"]), chat, sender, _moment(data["t"]))]

    def _ack(self, data: dict[str, Any]) -> list[EngineEvent]:
        ack = ACKS.get(int(data["ack"]), Ack.PENDING)
        return [AckChanged(str(data["id"]), normalize_jid(str(data["chat"])), ack)]

    def _logged_out_event(self, data: dict[str, Any]) -> list[EngineEvent]:
        if self._logged_out:
            return []
        self._logged_out = True
        return [LoggedOut(str(data.get("reason") or "logged out from the phone"))]

    def _failed(self, data: dict[str, Any]) -> list[EngineEvent]:
        state = str(data.get("state") or "")
        reason, code = ENDING_STATES.get(state, (f"WhatsApp Web is {state}", "engine_error"))
        return [Failed(reason, code, {"state": state})]

    def _incompatible(self, data: dict[str, Any]) -> list[EngineEvent]:
        missing = ", ".join(data.get("missing") or [])
        version = str(data.get("version") or "unknown")
        reason = f"WhatsApp Web {version} lacks the modules {missing}"
        return [Failed(reason, "engine_incompatible", {"missing": missing, "version": version})]


def _log_only(kind: str, data: dict[str, Any]) -> None:
    if kind == "modules":
        _LOGGER.info("WhatsApp Web %s: bridge modules resolved", data.get("version"))
    elif kind == "skipped":
        kind_of = data.get("msgType")
        _LOGGER.info("message %s of type %s is not delivered yet", data.get("id"), kind_of)
    elif kind == "degraded":
        missing = ", ".join(data.get("missing") or [])
        _LOGGER.warning("WhatsApp Web %s lacks %s: working without", data.get("version"), missing)
    elif kind == "undecryptable":
        _LOGGER.warning("message %s not decrypted within 15 s; still waiting", data.get("id"))
    elif kind == "error":
        _LOGGER.warning("bridge error in %s: %s", data.get("where"), data.get("message"))
    else:
        _LOGGER.debug("bridge %s: %s", kind, data.get("state") or data.get("id") or "")
