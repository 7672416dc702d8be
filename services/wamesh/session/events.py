"""A line's events as webhooks, subscribers and gRPC clients see them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from wamesh import constants as c
from wamesh.engines.base import Ack, Message
from wamesh.v1 import common_pb2


@dataclass(frozen=True)
class LineEvent:
    """One event of one line: its webhook type and `data`."""

    type: str
    data: dict[str, Any]
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def status_event(status: str, *, me: str | None = None, reason: str | None = None) -> LineEvent:
    """`session.status`."""
    return LineEvent(c.EVENT_SESSION_STATUS, {"status": status, "me": me, "reason": reason})


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


def message_data(message: Message) -> dict[str, Any]:
    """A message as webhook data."""
    return {
        "id": message.id,
        "chat_id": message.chat_id,
        "from": message.sender,
        "to": message.recipient,
        "from_me": message.from_me,
        "text": message.text,
        "timestamp": iso(message.timestamp),
        "ack": message.ack.value,
    }


def message_event(message: Message) -> LineEvent:
    """`message.sent` or `message.received`."""
    kind = c.EVENT_MESSAGE_SENT if message.from_me else c.EVENT_MESSAGE_RECEIVED
    return LineEvent(kind, message_data(message))


def ack_event(message_id: str, chat_id: str, ack: Ack) -> LineEvent:
    """`message.ack`."""
    return LineEvent(
        c.EVENT_MESSAGE_ACK, {"message_id": message_id, "chat_id": chat_id, "ack": ack.value}
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


def message_to_proto(message: Message) -> common_pb2.Message:
    """A message on the wire."""
    return common_pb2.Message(
        id=message.id,
        chat_id=message.chat_id,
        to=message.recipient,
        from_me=message.from_me,
        text=message.text,
        timestamp=timestamp(message.timestamp),
        ack=ACK_TO_PROTO[message.ack.value],
        **{"from": message.sender},
    )


def event_to_proto(session_id: str, event: LineEvent) -> common_pb2.Event:
    """An event on the wire: typed payload plus the webhook `data` as a Struct."""
    data = struct_pb2.Struct()
    data.update({k: v for k, v in event.data.items() if v is not None})
    proto = common_pb2.Event(
        id=event.id,
        session_id=session_id,
        type=event.type,
        timestamp=timestamp(event.timestamp),
        data=data,
    )
    _fill_payload(proto, event)
    return proto


def _fill_payload(proto: common_pb2.Event, event: LineEvent) -> None:
    d = event.data
    if event.type == c.EVENT_SESSION_STATUS:
        proto.status.CopyFrom(
            common_pb2.StatusChanged(
                status=STATUS_TO_PROTO[d["status"]], reason=d["reason"] or "", me=d["me"] or ""
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
        proto.message.CopyFrom(
            common_pb2.Message(
                id=d["id"],
                chat_id=d["chat_id"],
                to=d["to"],
                from_me=d["from_me"],
                text=d["text"],
                ack=ACK_TO_PROTO[d["ack"]],
                **{"from": d["from"]},
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
