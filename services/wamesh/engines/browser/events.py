"""Bridge messages (JSON from bridge.js) as normalised engine events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from wamesh.engines.base import (
    Ack,
    AckChanged,
    Authenticated,
    Disconnected,
    EngineEvent,
    Failed,
    LoggedOut,
    Message,
    MessageIn,
    MessageOut,
    Qr,
    Ready,
)
from wamesh.jid import normalize_jid

QR_LIFETIME_S = 20
ACKS = {-1: Ack.ERROR, 0: Ack.PENDING, 1: Ack.SERVER, 2: Ack.DEVICE, 3: Ack.READ, 4: Ack.PLAYED}


def message_from(data: dict[str, Any]) -> Message:
    """A bridge message object as a Message."""
    return Message(
        id=str(data["id"]),
        chat_id=normalize_jid(str(data["chat"])),
        sender=normalize_jid(str(data["from"])),
        recipient=normalize_jid(str(data["to"])),
        from_me=bool(data["fromMe"]),
        text=str(data.get("body") or ""),
        timestamp=datetime.fromtimestamp(float(data.get("t") or 0), UTC),
        ack=ACKS.get(int(data.get("ack") or 0), Ack.PENDING),
    )


class Translator:
    """Turns bridge messages into engine events, numbering QR rotations."""

    def __init__(self) -> None:
        self._rotation = 0

    def translate(self, data: dict[str, Any]) -> list[EngineEvent]:
        """Zero or more events for one bridge message."""
        kind = data.get("type")
        if kind == "qr":
            self._rotation += 1
            expires = datetime.now(UTC) + timedelta(seconds=QR_LIFETIME_S)
            return [Qr(str(data["code"]), expires, self._rotation)]
        if kind == "ready":
            return [Authenticated(), Ready(normalize_jid(str(data["me"])))]
        if kind == "message":
            message = message_from(data["message"])
            return [MessageOut(message) if message.from_me else MessageIn(message)]
        if kind == "ack":
            return [
                AckChanged(
                    str(data["id"]),
                    normalize_jid(str(data["chat"])),
                    ACKS.get(int(data["ack"]), Ack.PENDING),
                )
            ]
        if kind == "logged_out":
            return [LoggedOut(str(data.get("reason") or "logged out from the phone"))]
        if kind == "disconnected":
            return [Disconnected(str(data.get("reason") or "disconnected"))]
        if kind == "incompatible":
            missing = ", ".join(data.get("missing") or [])
            version = str(data.get("version") or "unknown")
            reason = f"WhatsApp Web {version} lacks the modules {missing}"
            return [Failed(reason, "engine_incompatible", {"missing": missing, "version": version})]
        if kind == "boot_timeout":
            return [Failed("WhatsApp Web did not start (no Debug.VERSION)", "engine_error")]
        return []
