"""`/v1/sessions/{id}/groups`, `.../chats/{chat_id}/read` and `.../presence`: the line's groups,
read marks and presence."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wamesh.gateway import calls
from wamesh.gateway import schemas as s
from wamesh.gateway.api import BODY, Operation, Response, line_id
from wamesh.gateway.context import gateway_of
from wamesh.gateway.render import json_response
from wamesh.v1 import common_pb2, session_pb2


def group_json(group: common_pb2.Group) -> dict[str, Any]:
    """A wire group as JSON."""
    return {
        "id": group.jid,
        "subject": group.subject,
        "description": group.description,
        "participants": [
            {"jid": p.jid, "is_admin": p.is_admin, "is_super_admin": p.is_super_admin}
            for p in group.participants
        ],
    }


async def list_groups(request: web.Request) -> web.StreamResponse:
    """The groups the line is in."""
    req = session_pb2.ListGroupsRequest(session_id=line_id(request))
    reply = await calls.relay(gateway_of(request), "ListGroups", req)
    return json_response({"groups": [group_json(g) for g in reply.groups]})


async def get_group(request: web.Request) -> web.StreamResponse:
    """One group with its participants and their admin flags."""
    req = session_pb2.GetGroupRequest(
        session_id=line_id(request), group_id=request.match_info["group_id"]
    )
    reply = await calls.relay(gateway_of(request), "GetGroup", req)
    return json_response(group_json(reply.group))


async def mark_read(request: web.Request) -> web.StreamResponse:
    """Mark every message of a chat read."""
    req = session_pb2.MarkReadRequest(
        session_id=line_id(request), chat_id=request.match_info["chat_id"]
    )
    await calls.relay(gateway_of(request), "MarkRead", req)
    return json_response({"ok": True})


async def set_presence(request: web.Request) -> web.StreamResponse:
    """Show typing / recording / paused in a chat, or online / offline."""
    body = request[BODY]
    req = session_pb2.SetPresenceRequest(
        session_id=line_id(request), chat_id=body.get("chat_id", ""), presence=body["presence"]
    )
    await calls.relay(gateway_of(request), "SetPresence", req)
    return json_response({"ok": True})


_ERRORS = (400, 404, 409, 503, 501)
OPERATIONS = [
    Operation(
        "GET",
        "/v1/sessions/{id}/groups",
        list_groups,
        "The groups the line is in",
        "chats",
        response=Response("The groups", s.GROUP_LIST),
        errors=_ERRORS,
    ),
    Operation(
        "GET",
        "/v1/sessions/{id}/groups/{group_id}",
        get_group,
        "One group: subject, description, participants with admin flags",
        "chats",
        response=Response("The group", s.GROUP),
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        "/v1/sessions/{id}/chats/{chat_id}/read",
        mark_read,
        "Mark every message of a chat read",
        "chats",
        response=Response("Marked", s.OK_REPLY),
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        "/v1/sessions/{id}/presence",
        set_presence,
        "Show typing, recording or paused in a chat, or online / offline",
        "chats",
        response=Response("Shown", s.OK_REPLY),
        body=s.PRESENCE_REQUEST,
        errors=_ERRORS,
    ),
]
