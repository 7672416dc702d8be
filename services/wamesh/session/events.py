"""A line's events as webhooks, subscribers and gRPC clients see them.

One serializer: each `*_event` function builds the event's `data` once, as JSON values. That dict
is the webhook's `data` (outbox row), the gRPC `Event.data_json` (its JSON text) and `Event.data`
(the same values as a Struct), and the SSE `data` (the gateway parses `data_json`); the envelope
around it (`wamesh.outbox.envelope`) is shared by webhooks and SSE and carries the event's own
timestamp, in milliseconds with a Z.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from wamesh import constants as c
from wamesh.engines.base import (
    Ack,
    ContactCard,
    GroupParticipantsChanged,
    Location,
    MediaInfo,
    Message,
    MessageEdited,
    MessageRevoked,
    Poll,
    PollVoted,
    PresenceChanged,
    ReactionChanged,
)
from wamesh.jid import GROUP_SERVER
from wamesh.record import Record
from wamesh.v1 import common_pb2


@dataclass(frozen=True, eq=False, repr=False)
class LineEvent(Record):
    """One event of one line: its webhook type and `data`."""

    type: str
    data: dict[str, Any]
    timestamp: datetime = field(default_factory=lambda: now_ms())
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


def now_ms() -> datetime:
    """Now in UTC, truncated to milliseconds (what an event's ISO timestamp can say)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def status_event(
    status: str, *, me: str | None = None, lid: str | None = None, reason: str | None = None
) -> LineEvent:
    """`session.status` (`me` and `lid`, the own JID and LID, when ready)."""
    data = {"status": status, "me": me, "lid": lid, "reason": reason}
    return LineEvent(c.EVENT_SESSION_STATUS, data)


def qr_event(code: str, expires_at: datetime, rotation: int) -> LineEvent:
    """`session.qr`."""
    return LineEvent(
        c.EVENT_SESSION_QR, {"qr": code, "expires_at": iso(expires_at), "rotation": rotation}
    )


def pairing_code_event(code: str, phone: str, expires_at: datetime) -> LineEvent:
    """`session.pairing_code`: the code to type on the phone (a credential until it expires)."""
    return LineEvent(
        c.EVENT_SESSION_PAIRING_CODE,
        {"code": code, "phone": phone, "expires_at": iso(expires_at)},
    )


def media_url(session_id: str, media_id: str) -> str:
    """Where the gateway serves a line's stored media (relative to the gateway's base URL)."""
    return c.MEDIA_URL_PATH.format(session_id=session_id, media_id=media_id)


def media_data(session_id: str, info: MediaInfo) -> dict[str, Any]:
    """Stored media as event data."""
    return {
        "media_id": info.media_id,
        "mimetype": info.mimetype,
        "size": info.size,
        "sha256": info.sha256,
        "filename": info.filename,
        "url": media_url(session_id, info.media_id),
    }


def message_data(
    message: Message, session_id: str, media_error: str | None = None
) -> dict[str, Any]:
    """A message as event data (`media` null for text, and for media whose download failed,
    `media_error` then says why)."""
    data: dict[str, Any] = {
        "id": message.id,
        "type": message.type.value,
        "chat_id": message.chat_id,
        "chat_type": chat_type(message.chat_id),
        "from": message.sender,
        "author": message.sender,
        "to": message.recipient,
        "from_me": message.from_me,
        "text": message.text,
        "timestamp": iso(message.timestamp),
        "ack": message.ack.value,
        "reply_to": message.reply_to,
        "mentions": list(message.mentions),
        "media": media_data(session_id, message.media) if message.media else None,
        "location": location_data(message.location) if message.location else None,
        "contacts": [contact_data(card) for card in message.contacts],
        "poll": poll_data(message.poll) if message.poll else None,
    }
    if media_error is not None:
        data["media_error"] = media_error
    return data


def location_data(location: Location) -> dict[str, Any]:
    """A location as event data."""
    return {
        "latitude": location.latitude,
        "longitude": location.longitude,
        "name": location.name,
        "address": location.address,
        "url": location.url,
    }


def contact_data(card: ContactCard) -> dict[str, Any]:
    """A contact card as event data."""
    return {"name": card.name, "vcard": card.vcard}


def poll_data(poll: Poll) -> dict[str, Any]:
    """A poll as event data (`selectable_count` 0: any number of options)."""
    return {
        "question": poll.question,
        "options": list(poll.options),
        "selectable_count": poll.selectable_count,
    }


def chat_type(chat_id: str) -> str:
    """`group` for a `...@g.us` chat, else `user`."""
    return "group" if chat_id.endswith("@" + GROUP_SERVER) else "user"


def message_event(message: Message, session_id: str, media_error: str | None = None) -> LineEvent:
    """`message.sent` or `message.received`."""
    kind = c.EVENT_MESSAGE_SENT if message.from_me else c.EVENT_MESSAGE_RECEIVED
    return LineEvent(kind, message_data(message, session_id, media_error))


def reaction_event(
    message_id: str, chat_id: str, sender: str, emoji: str, from_me: bool, moment: datetime
) -> LineEvent:
    """`message.reaction` (an empty `emoji`: the reaction was removed)."""
    return LineEvent(
        c.EVENT_MESSAGE_REACTION,
        {
            "message_id": message_id,
            "chat_id": chat_id,
            "from": sender,
            "emoji": emoji,
            "from_me": from_me,
            "timestamp": iso(moment),
        },
    )


def edited_event(
    message_id: str, chat_id: str, sender: str, text: str, moment: datetime
) -> LineEvent:
    """`message.edited`: the new text (or caption)."""
    return LineEvent(
        c.EVENT_MESSAGE_EDITED,
        {
            "message_id": message_id,
            "chat_id": chat_id,
            "from": sender,
            "text": text,
            "timestamp": iso(moment),
        },
    )


def revoked_event(message_id: str, chat_id: str, sender: str, moment: datetime) -> LineEvent:
    """`message.revoked`: deleted for everyone."""
    return LineEvent(
        c.EVENT_MESSAGE_REVOKED,
        {"message_id": message_id, "chat_id": chat_id, "from": sender, "timestamp": iso(moment)},
    )


def ack_event(message_id: str, chat_id: str, ack: Ack) -> LineEvent:
    """`message.ack`."""
    return LineEvent(
        c.EVENT_MESSAGE_ACK, {"message_id": message_id, "chat_id": chat_id, "ack": ack.value}
    )


def action_event(event: ReactionChanged | MessageEdited | MessageRevoked) -> LineEvent:
    """The line event of an engine's reaction, edit or revoke."""
    match event:
        case ReactionChanged():
            return reaction_event(
                event.message_id,
                event.chat_id,
                event.sender,
                event.emoji,
                event.from_me,
                event.timestamp,
            )
        case MessageEdited():
            return edited_event(
                event.message_id, event.chat_id, event.sender, event.text, event.timestamp
            )
        case MessageRevoked():
            return revoked_event(event.message_id, event.chat_id, event.sender, event.timestamp)


def poll_vote_event(event: PollVoted) -> LineEvent:
    """`poll.vote`: the voter's whole current selection (empty: withdrawn)."""
    return LineEvent(
        c.EVENT_POLL_VOTE,
        {
            "message_id": event.poll_id,
            "chat_id": event.chat_id,
            "from": event.voter,
            "selected": list(event.selected),
            "timestamp": iso(event.timestamp),
        },
    )


def group_participants_event(event: GroupParticipantsChanged) -> LineEvent:
    """`group.participants`: members joined, left, were added, removed, promoted or demoted."""
    return LineEvent(
        c.EVENT_GROUP_PARTICIPANTS,
        {
            "group_id": event.group_jid,
            "action": event.action,
            "participants": list(event.participants),
            "author": event.author,
            "timestamp": iso(event.timestamp),
        },
    )


def presence_event(event: PresenceChanged) -> LineEvent:
    """`presence.update`: a contact's presence in a chat."""
    return LineEvent(
        c.EVENT_PRESENCE_UPDATE,
        {
            "chat_id": event.chat_id,
            "jid": event.jid,
            "presence": event.presence,
            "timestamp": iso(event.timestamp),
        },
    )


STATUS_TO_PROTO: dict[str, common_pb2.SessionStatus.ValueType] = {
    "starting": common_pb2.SESSION_STATUS_STARTING,
    "qr": common_pb2.SESSION_STATUS_QR,
    "ready": common_pb2.SESSION_STATUS_READY,
    "disconnected": common_pb2.SESSION_STATUS_DISCONNECTED,
    "logged_out": common_pb2.SESSION_STATUS_LOGGED_OUT,
    "failed": common_pb2.SESSION_STATUS_FAILED,
    "stopped": common_pb2.SESSION_STATUS_STOPPED,
}
STATUS_FROM_PROTO = {v: k for k, v in STATUS_TO_PROTO.items()}

ACK_TO_PROTO: dict[str, common_pb2.Ack.ValueType] = {
    "error": common_pb2.ACK_ERROR,
    "pending": common_pb2.ACK_PENDING,
    "server": common_pb2.ACK_SERVER,
    "device": common_pb2.ACK_DEVICE,
    "read": common_pb2.ACK_READ,
    "played": common_pb2.ACK_PLAYED,
}
ACK_FROM_PROTO = {v: k for k, v in ACK_TO_PROTO.items()}


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A protobuf Timestamp, or None."""
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def message_to_proto(message: Message, session_id: str) -> common_pb2.Message:
    """A message on the wire."""
    return message_data_to_proto(message_data(message, session_id))


def message_data_to_proto(d: dict[str, Any]) -> common_pb2.Message:
    """A message's event data (`message_data`) on the wire."""
    media, location = d.get("media"), d.get("location")
    return common_pb2.Message(
        id=d["id"],
        chat_id=d["chat_id"],
        chat_type=d.get("chat_type") or chat_type(d["chat_id"]),
        author=d.get("author") or d["from"],
        to=d["to"],
        from_me=d["from_me"],
        text=d["text"],
        timestamp=timestamp(_parse_iso(d["timestamp"])) if d.get("timestamp") else None,
        ack=ACK_TO_PROTO[d["ack"]],
        type=d.get("type") or "text",
        reply_to=d.get("reply_to") or "",
        mentions=d.get("mentions") or [],
        media=_media_proto(media) if media else None,
        media_error=d.get("media_error") or "",
        location=common_pb2.Location(**_present(location)) if location else None,
        contacts=[common_pb2.ContactCard(**card) for card in d.get("contacts") or ()],
        poll=common_pb2.Poll(**d["poll"]) if d.get("poll") else None,
        **{"from": d["from"]},
    )


def message_proto_data(m: common_pb2.Message) -> dict[str, Any]:
    """A message on the wire back as its event data (the inverse of `message_data_to_proto`)."""
    data: dict[str, Any] = {
        "id": m.id,
        "type": m.type or "text",
        "chat_id": m.chat_id,
        "chat_type": m.chat_type or chat_type(m.chat_id),
        "from": getattr(m, "from"),
        "author": m.author or getattr(m, "from"),
        "to": m.to,
        "from_me": m.from_me,
        "text": m.text,
        "timestamp": iso(m.timestamp.ToDatetime(UTC)) if m.HasField("timestamp") else None,
        "ack": ACK_FROM_PROTO.get(m.ack, "pending"),
        "reply_to": m.reply_to or None,
        "mentions": list(m.mentions),
        "media": _media_data(m.media) if m.HasField("media") else None,
        "location": _location_data(m.location) if m.HasField("location") else None,
        "contacts": [{"name": c.name, "vcard": c.vcard} for c in m.contacts],
        "poll": _poll_data(m.poll) if m.HasField("poll") else None,
    }
    if m.media_error:
        data["media_error"] = m.media_error
    return data


def _media_data(media: common_pb2.Media) -> dict[str, Any]:
    return {
        "media_id": media.media_id,
        "mimetype": media.mimetype,
        "size": media.size,
        "sha256": media.sha256,
        "filename": media.filename or None,
        "url": media.url,
    }


def _location_data(p: common_pb2.Location) -> dict[str, Any]:
    return location_data(
        Location(p.latitude, p.longitude, p.name or None, p.address or None, p.url or None)
    )


def _poll_data(p: common_pb2.Poll) -> dict[str, Any]:
    return poll_data(Poll(p.question, tuple(p.options), p.selectable_count))


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """The fields that are set (protobuf strings cannot be None)."""
    return {key: value for key, value in values.items() if value is not None}


def _media_proto(media: dict[str, Any]) -> common_pb2.Media:
    return common_pb2.Media(
        media_id=media["media_id"],
        mimetype=media["mimetype"],
        size=media["size"],
        sha256=media["sha256"],
        filename=media.get("filename") or "",
        url=media["url"],
    )


def event_json(event: LineEvent) -> str:
    """The event's `data` as JSON text: what the webhook, SSE and gRPC `data_json` carry."""
    return json.dumps(event.data, separators=(",", ":"), ensure_ascii=False)


def event_to_proto(session_id: str, event: LineEvent) -> common_pb2.Event:
    """An event on the wire: typed payload plus the webhook `data` as JSON text and Struct."""
    data = struct_pb2.Struct()
    data.update(event.data)
    proto = common_pb2.Event(
        id=event.id,
        session_id=session_id,
        type=event.type,
        timestamp=timestamp(event.timestamp),
        data=data,
        data_json=event_json(event),
    )
    _fill_payload(proto, event)
    return proto


def _fill_payload(proto: common_pb2.Event, event: LineEvent) -> None:
    d = event.data
    if event.type == c.EVENT_SESSION_STATUS:
        proto.status.CopyFrom(
            common_pb2.StatusChanged(
                status=STATUS_TO_PROTO[d["status"]],
                reason=d["reason"] or "",
                me=d["me"] or "",
                lid=d.get("lid") or "",
            )
        )
    elif event.type == c.EVENT_SESSION_QR:
        expires = _parse_iso(d["expires_at"])
        proto.qr.CopyFrom(
            common_pb2.QrCode(code=d["qr"], expires_at=timestamp(expires), rotation=d["rotation"])
        )
    elif event.type == c.EVENT_SESSION_PAIRING_CODE:
        proto.pairing_code.CopyFrom(
            common_pb2.PairingCode(
                code=d["code"], phone=d["phone"], expires_at=timestamp(_parse_iso(d["expires_at"]))
            )
        )
    elif event.type in (c.EVENT_MESSAGE_SENT, c.EVENT_MESSAGE_RECEIVED):
        proto.message.CopyFrom(message_data_to_proto(d))
    elif event.type == c.EVENT_MESSAGE_REACTION:
        proto.reaction.CopyFrom(
            common_pb2.ReactionChanged(
                message_id=d["message_id"],
                chat_id=d["chat_id"],
                emoji=d["emoji"],
                from_me=d["from_me"],
                timestamp=timestamp(_parse_iso(d["timestamp"])),
                **{"from": d["from"]},
            )
        )
    elif event.type == c.EVENT_MESSAGE_EDITED:
        proto.edited.CopyFrom(
            common_pb2.MessageEdited(
                message_id=d["message_id"],
                chat_id=d["chat_id"],
                text=d["text"],
                timestamp=timestamp(_parse_iso(d["timestamp"])),
                **{"from": d["from"]},
            )
        )
    elif event.type == c.EVENT_MESSAGE_REVOKED:
        proto.revoked.CopyFrom(
            common_pb2.MessageRevoked(
                message_id=d["message_id"],
                chat_id=d["chat_id"],
                timestamp=timestamp(_parse_iso(d["timestamp"])),
                **{"from": d["from"]},
            )
        )
    elif event.type == c.EVENT_POLL_VOTE:
        proto.poll_vote.CopyFrom(
            common_pb2.PollVote(
                message_id=d["message_id"],
                chat_id=d["chat_id"],
                selected=d["selected"],
                timestamp=timestamp(_parse_iso(d["timestamp"])),
                **{"from": d["from"]},
            )
        )
    elif event.type == c.EVENT_GROUP_PARTICIPANTS:
        proto.group_participants.CopyFrom(
            common_pb2.GroupParticipantsChanged(
                group_id=d["group_id"],
                action=d["action"],
                participants=d["participants"],
                author=d["author"] or "",
                timestamp=timestamp(_parse_iso(d["timestamp"])),
            )
        )
    elif event.type == c.EVENT_PRESENCE_UPDATE:
        proto.presence.CopyFrom(
            common_pb2.PresenceUpdate(
                chat_id=d["chat_id"],
                jid=d["jid"],
                presence=d["presence"],
                timestamp=timestamp(_parse_iso(d["timestamp"])),
            )
        )
    elif event.type == c.EVENT_MESSAGE_ACK:
        proto.ack.CopyFrom(
            common_pb2.AckChanged(
                message_id=d["message_id"], chat_id=d["chat_id"], ack=ACK_TO_PROTO[d["ack"]]
            )
        )
    elif event.type in (c.EVENT_REMINDER_SENT, c.EVENT_REMINDER_FAILED):
        proto.reminder.CopyFrom(
            common_pb2.ReminderOutcome(
                reminder_id=d["reminder_id"],
                message_id=d.get("message_id") or "",
                error=d.get("error") or "",
                occurrence=d.get("occurrence") or 0,
            )
        )
