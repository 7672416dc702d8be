"""What the simulated WhatsApp server knows of a sandbox line besides what the line sent: numbers
marked not on WhatsApp, numbers the line met (its LID mapping), the groups it is in with their
members, and the messages it received (which reactions, edits, revokes and poll votes refer to).

A real server keeps all of that when the line's worker restarts, so the sandbox does too: each
change is appended to `<sandbox_dir>/<session_id>/server.jsonl` (fsynced, like `sent.jsonl`) and
replayed into a fresh engine's `Directory`, `Groups` and received messages.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from wamesh.engines.base import Message
from wamesh.engines.rich import GroupInfo, Participant
from wamesh.engines.sandbox.contacts import Directory
from wamesh.engines.sandbox.groups import Groups
from wamesh.engines.sandbox.sent_log import JsonLines, message_from_json, message_to_json


class ServerState:
    """The simulated server's memory of one line, append-only on disk."""

    def __init__(self, path: Path) -> None:
        self._file = JsonLines(path)

    @classmethod
    def of(cls, data_dir: Path, session_id: str) -> ServerState:
        """The state of line `session_id` under `data_dir`."""
        return cls(data_dir / session_id / "server.jsonl")

    def replay(self, directory: Directory, groups: Groups, received: dict[str, Message]) -> None:
        """Bring a fresh engine's directory, groups and received messages up to date."""
        for record in self._file.records():
            if "absent" in record:
                directory.mark_absent(record["absent"])
            elif "met" in record:
                directory.meet(record["met"])
            elif "group" in record:
                groups.restore(_group_from_json(record["group"]))
            elif "received" in record:
                message = message_from_json(record["received"])
                received[message.id] = message
                directory.meet(message.sender)

    def absent(self, digits: str) -> None:
        """A number was marked not on WhatsApp."""
        self._file.append({"absent": digits})

    def met(self, jid: str) -> None:
        """The line checked a number that is on WhatsApp (its LID now maps to it)."""
        self._file.append({"met": jid})

    def group(self, info: GroupInfo) -> None:
        """A group as it is now (created, or its members changed)."""
        self._file.append({"group": asdict(info)})

    def received(self, message: Message) -> None:
        """A message a contact sent the line."""
        self._file.append({"received": message_to_json(message)})


def _group_from_json(data: dict[str, Any]) -> GroupInfo:
    members = tuple(Participant(**p) for p in data.get("participants") or ())
    return GroupInfo(data["jid"], data["subject"], data.get("description", ""), members)
