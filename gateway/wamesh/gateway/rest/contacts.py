"""`/v1/sessions/{id}/contacts/{contact}`: whether a number, JID or LID is on WhatsApp, and a
subscription to its presence."""

from __future__ import annotations

from aiohttp import web

from wamesh.gateway import calls
from wamesh.gateway import schemas as s
from wamesh.gateway.api import Operation, Response, line_id
from wamesh.gateway.context import gateway_of
from wamesh.gateway.render import json_response
from wamesh.v1 import session_pb2


async def check_contact(request: web.Request) -> web.StreamResponse:
    """Whether a number, JID or LID is on WhatsApp, with its JID and LID (an unknown one is
    200 with exists false)."""
    req = session_pb2.CheckContactRequest(
        session_id=line_id(request), id=request.match_info["contact"]
    )
    reply = await calls.relay(gateway_of(request), "CheckContact", req)
    return json_response(
        {"exists": reply.exists, "jid": reply.jid or None, "lid": reply.lid or None}
    )


async def subscribe_presence(request: web.Request) -> web.StreamResponse:
    """Receive the contact's presence (online, last seen, typing) as `presence.update` events."""
    req = session_pb2.SubscribePresenceRequest(
        session_id=line_id(request), contact=request.match_info["contact"]
    )
    reply = await calls.relay(gateway_of(request), "SubscribePresence", req)
    return json_response({"jid": reply.jid})


OPERATIONS = [
    Operation(
        "GET",
        "/v1/sessions/{id}/contacts/{contact}",
        check_contact,
        "Check a number, JID or LID: on WhatsApp, its JID and LID (the LID <-> phone mapping)",
        "messaging",
        response=Response("What WhatsApp knows of it", s.CONTACT),
        errors=(400, 404, 409, 503, 501),
    ),
    Operation(
        "POST",
        "/v1/sessions/{id}/contacts/{contact}/presence-subscription",
        subscribe_presence,
        "Subscribe to a contact's presence (presence.update events)",
        "messaging",
        response=Response("The contact's JID", s.SUBSCRIBED),
        errors=(400, 404, 409, 503, 501),
    ),
]
