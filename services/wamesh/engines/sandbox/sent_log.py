"""What the simulated WhatsApp server received from a sandbox line, append-only on disk.

Messages and actions (reactions, edits, revokes, forwards, read marks, presence) are appended to
`<sandbox_dir>/<session_id>/sent.jsonl` and fsynced before the call that recorded them returns,
so the record survives a worker crash exactly as a real server's would: a message id it already
has is returned again, never sent twice. Sent messages share their fsyncs (group commit, off the
event loop): every send that arrives while one fsync runs waits for the next, so a busy line
pays one fsync for many messages instead of blocking its event loop once per message. The
worker and the servicer read the file back (`reload`) to show what was sent.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from wamesh.engines.base import (
    Ack,
    ContactCard,
    Location,
    MediaInfo,
    Message,
    MessageType,
    Poll,
)
from wamesh.record import Record


@dataclass(frozen=True, eq=False, repr=False)
class SandboxAction(Record):
    """A reaction, edit, revoke or forward the simulated server received from the line, or a
    read mark (`read`, of `chat_id`) or presence (`presence`, `chat_id` empty for online /
    offline)."""

    kind: str
    chat_id: str
    message_id: str
    timestamp: datetime
    emoji: str = ""
    text: str = ""
    to: str = ""
    new_message_id: str = ""
    presence: str = ""


class JsonLines:
    """An append-only file of JSON records: `append` writes one and fsyncs before it returns;
    `write` then `await sync()` does the same with the fsync shared by every record written
    while the previous fsync ran."""

    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._written = 0  # records handed to the OS by this object
        self._synced = 0  # of those, how many an fsync has made durable
        self._syncing: asyncio.Future[None] | None = None

    def records(self) -> list[dict[str, Any]]:
        """Every record, in order (none when the file does not exist yet)."""
        if not self._path.exists():
            return []
        lines = self._path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and fsync (blocking)."""
        self.write(record)
        _fsync(self._path)
        self._synced = self._written

    def write(self, record: dict[str, Any]) -> None:
        """Hand one record to the OS (durable after the next `sync`)."""
        with self._path.open("a") as out:
            out.write(json.dumps(record) + "\n")
        self._written += 1

    async def sync(self) -> None:
        """Return once every record written so far is fsynced: one fsync in a thread serves
        all the records written before it started."""
        target = self._written
        while self._synced < target:
            if self._syncing is None:
                self._syncing = asyncio.ensure_future(self._fsync())
            await asyncio.shield(self._syncing)

    async def _fsync(self) -> None:
        upto = self._written
        try:
            await asyncio.to_thread(_fsync, self._path)
            self._synced = max(self._synced, upto)
        finally:
            self._syncing = None


def _fsync(path: Path) -> None:
    """Make the file's written data durable (on Linux an fsync covers the file, whichever
    descriptor wrote it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SentLog:
    """The simulated server's record of sent messages and actions, append-only on disk."""

    def __init__(self, path: Path) -> None:
        self._file = JsonLines(path)
        self._by_id: dict[str, Message] = {}
        self._actions: list[SandboxAction] = []
        self.reload()

    @classmethod
    def of(cls, data_dir: Path, session_id: str) -> SentLog:
        """The log of line `session_id` under `data_dir`."""
        return cls(data_dir / session_id / "sent.jsonl")

    def reload(self) -> SentLog:
        """Re-read the file (another process may have appended)."""
        self._by_id.clear()
        self._actions.clear()
        for record in self._file.records():
            if "action" in record:
                self._actions.append(_action_from_json(record["action"]))
            else:
                message = message_from_json(record)
                self._by_id[message.id] = message
        return self

    def get(self, message_id: str) -> Message | None:
        """The recorded message with this id."""
        return self._by_id.get(message_id)

    async def append(self, message: Message) -> None:
        """Record; return once it is fsynced (the fsync shared with concurrent appends)."""
        self._file.write(message_to_json(message))
        self._by_id[message.id] = message
        await self._file.sync()

    async def sync(self) -> None:
        """Return once every message recorded so far is fsynced (a message `get` found may
        still be waiting for its fsync)."""
        await self._file.sync()

    def append_action(self, action: SandboxAction) -> None:
        """Record a reaction, edit, revoke or forward, and fsync."""
        data = asdict(action)
        data["timestamp"] = action.timestamp.isoformat()
        self._file.append({"action": data})
        self._actions.append(action)

    def all(self) -> list[Message]:
        """Every recorded message, in send order."""
        return list(self._by_id.values())

    def actions(self) -> list[SandboxAction]:
        """Every recorded action, in order."""
        return list(self._actions)


def message_to_json(message: Message) -> dict[str, Any]:
    """A message as a JSON record (read back by `message_from_json`)."""
    data = asdict(message)
    data["timestamp"] = message.timestamp.isoformat()
    data["ack"] = message.ack.value
    data["type"] = message.type.value
    data["mentions"] = list(message.mentions)
    return data


def message_from_json(data: dict[str, Any]) -> Message:
    """A message from its JSON record."""
    fields = dict(data)
    fields["timestamp"] = datetime.fromisoformat(str(fields["timestamp"]))
    fields["ack"] = Ack(str(fields["ack"]))
    fields["type"] = MessageType(str(fields.get("type", "text")))
    fields["mentions"] = tuple(str(m) for m in fields.get("mentions") or ())
    media = fields.get("media")
    fields["media"] = MediaInfo(**media) if isinstance(media, dict) else None
    location = fields.get("location")
    fields["location"] = Location(**location) if isinstance(location, dict) else None
    cards = fields.get("contacts") or ()
    fields["contacts"] = tuple(ContactCard(**c) for c in cards)
    poll = fields.get("poll")
    fields["poll"] = _poll_from_json(poll) if isinstance(poll, dict) else None
    return Message(**fields)


def _poll_from_json(data: dict[str, Any]) -> Poll:
    options = data.get("options") or ()
    count = data.get("selectable_count", 0)
    return Poll(str(data["question"]), tuple(str(o) for o in options), int(count))


def _action_from_json(data: dict[str, object]) -> SandboxAction:
    fields = dict(data)
    fields["timestamp"] = datetime.fromisoformat(str(fields["timestamp"]))
    return SandboxAction(**fields)  # type: ignore[arg-type]
