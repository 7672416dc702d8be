"""Our JID strings <-> neonize's `JID` protobuf (whatsmeow's types.JID: User, RawAgent, Device,
Integrator, Server; every field is `required`, so all are always set)."""

from __future__ import annotations

from typing import Any

from neonize.proto.Neonize_pb2 import JID

from wamesh.jid import normalize_jid


def to_jid(value: str) -> Any:
    """`user[.agent][:device]@server` (as whatsmeow's JID.String() writes it) as a JID proto."""
    user_part, _, server = normalize_jid(value).partition("@")
    user_agent, _, device = user_part.partition(":")
    user, _, agent = user_agent.partition(".")
    return JID(
        User=user,
        RawAgent=int(agent or 0),
        Device=int(device or 0),
        Integrator=0,
        Server=server,
        IsEmpty=False,
    )


def from_jid(jid: Any) -> str:
    """A JID proto as our normalised, device-less JID (`""` when empty)."""
    if jid is None or jid.IsEmpty or not jid.User:
        return ""
    return normalize_jid(f"{jid.User}@{jid.Server}")


def device_string(jid: Any) -> str:
    """A device JID proto as whatsmeow's JID.String() writes it (`user:device@server`)."""
    device = f":{jid.Device}" if jid.Device else ""
    return f"{jid.User}{device}@{jid.Server}"


def non_ad(value: str) -> str:
    """A JID string without agent and device, as whatsmeow's `ToNonAD().String()` writes it
    (`user@server`; the message secrets of polls are keyed by that form)."""
    user_part, _, server = value.partition("@")
    user = user_part.partition(":")[0].partition(".")[0]
    return f"{user}@{server}" if user else server


def non_ad_of(jid: Any) -> str:
    """A JID proto's `ToNonAD().String()` (`""` when empty)."""
    if jid is None or jid.IsEmpty or not jid.Server:
        return ""
    return f"{jid.User}@{jid.Server}" if jid.User else str(jid.Server)
