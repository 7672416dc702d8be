"""The simulated server's groups: those the phone side puts the line in, and their members.

The engine keeps them across worker restarts (`ServerState` replays them). Membership changes
(`change`) apply as on WhatsApp: add and join make members, remove and leave drop them, promote
and demote set the admin flag; each returns the `GroupParticipantsChanged` WhatsApp would send.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime

from wamesh.engines.base import GroupParticipantsChanged
from wamesh.engines.rich import GroupInfo, Participant
from wamesh.errors import InvalidInput, NotFound
from wamesh.jid import GROUP_SERVER, parse_group, parse_recipient

ACTIONS = ("add", "remove", "leave", "join", "promote", "demote")
PRESENCES = ("available", "unavailable", "typing", "recording", "paused")


class Groups:
    """The line's groups by JID, in creation order."""

    def __init__(self) -> None:
        self._groups: dict[str, GroupInfo] = {}

    def create(self, subject: str, members: tuple[Participant, ...], description: str) -> str:
        """A new group with `members`; returns its JID."""
        if not subject.strip():
            raise InvalidInput("subject must not be empty", "subject")
        jid = f"120363{secrets.randbelow(10**12):012d}@{GROUP_SERVER}"
        checked = tuple(replace(p, jid=parse_recipient(p.jid, "participants")) for p in members)
        self._groups[jid] = GroupInfo(jid, subject, description, checked)
        return jid

    def restore(self, info: GroupInfo) -> None:
        """A group as the server last recorded it (replayed at start)."""
        self._groups[info.jid] = info

    def all(self) -> list[GroupInfo]:
        """Every group, in creation order."""
        return list(self._groups.values())

    def get(self, jid: str) -> GroupInfo:
        """One group (NotFound when the line is in no such group)."""
        found = self._groups.get(jid)
        if found is None:
            raise NotFound(f"the line is in no group {jid}")
        return found

    def change(
        self, group: str, action: str, jids: tuple[str, ...], author: str
    ) -> GroupParticipantsChanged:
        """Apply a membership change; the event WhatsApp sends for it."""
        if action not in ACTIONS:
            raise InvalidInput(f"action: one of {', '.join(ACTIONS)}", "action")
        if not jids:
            raise InvalidInput("participants must not be empty", "participants")
        info = self.get(parse_group(group))
        members = [parse_recipient(j, "participants") for j in jids]
        self._groups[info.jid] = replace(info, participants=_apply(info, action, members))
        who = parse_recipient(author, "author") if author else None
        return GroupParticipantsChanged(info.jid, action, tuple(members), who, datetime.now(UTC))


def _apply(info: GroupInfo, action: str, members: list[str]) -> tuple[Participant, ...]:
    kept = [p for p in info.participants if p.jid not in members]
    if action in ("add", "join"):
        known = {p.jid for p in info.participants}
        return (*info.participants, *(Participant(j) for j in members if j not in known))
    if action in ("remove", "leave"):
        return tuple(kept)
    admin = action == "promote"
    return tuple(
        replace(p, is_admin=admin, is_super_admin=p.is_super_admin and admin)
        if p.jid in members
        else p
        for p in info.participants
    )
