"""`/v1/sessions/{id}/sandbox/*`: the sandbox engine's simulated phone."""

from __future__ import annotations

import binascii
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message

from wamesh.constants import MAX_TEXT_BODY_BYTES
from wamesh.errors import InvalidInput
from wamesh.gateway import calls
from wamesh.gateway import schemas as s
from wamesh.gateway.api import BODY, Operation, Response, line_id
from wamesh.gateway.context import gateway_of
from wamesh.gateway.render import json_response, proto_time
from wamesh.gateway.rest.messaging import MAX_INLINE_MEDIA_BODY, structured_content
from wamesh.media.ingest import BASE64_PATTERN
from wamesh.session.events import STATUS_FROM_PROTO, message_proto_data
from wamesh.v1 import common_pb2, session_pb2

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def sandbox_scan(request: web.Request) -> web.StreamResponse:
    """Scan the line's QR code with the simulated phone."""
    reply = await calls.relay(
        gateway_of(request), "Scan", session_pb2.ScanRequest(session_id=line_id(request))
    )
    return json_response({"status": STATUS_FROM_PROTO.get(reply.status, "ready"), "me": reply.me})


async def sandbox_enter_pairing_code(request: web.Request) -> web.StreamResponse:
    """Type the line's pairing code on the simulated phone."""
    reply = await calls.relay(
        gateway_of(request),
        "EnterPairingCode",
        session_pb2.EnterPairingCodeRequest(
            session_id=line_id(request), code=request[BODY]["code"]
        ),
    )
    return json_response({"status": STATUS_FROM_PROTO.get(reply.status, "ready"), "me": reply.me})


async def sandbox_inbound(request: web.Request) -> web.StreamResponse:
    """A contact sends the line a message."""
    body = request[BODY]
    req = session_pb2.InjectInboundRequest(
        session_id=line_id(request),
        text=body.get("text", ""),
        type=body.get("type", "text"),
        media=_base64(body["media"]) if "media" in body else b"",
        media_id=body.get("media_id", ""),
        mimetype=body.get("mimetype", ""),
        filename=body.get("filename", ""),
        reply_to=body.get("reply_to", ""),
        mentions=body.get("mentions", []),
        author=body.get("author", ""),
        **structured_content(body),
        **{"from": body["from"]},
    )
    reply = await calls.relay(gateway_of(request), "InjectInbound", req)
    return json_response({"message": message_proto_data(reply.message)}, 201)


def _base64(text: str) -> bytes:
    """The sandbox's inbound `media`: base64 as the schema states it (BASE64_PATTERN)."""
    if re.match(BASE64_PATTERN, text) is None:
        raise InvalidInput("media: not valid base64", "media")
    return binascii.a2b_base64(text.replace("\r", "").replace("\n", "").encode("ascii"))


def _injection(method: str, request_type: type[Message]) -> Handler:
    """A sandbox injection whose JSON body names the request's fields: relayed, answered ok."""

    async def inject(request: web.Request) -> web.StreamResponse:
        fields: dict[str, Any] = request[BODY]
        body = {**fields, "session_id": line_id(request)}
        req = json_format.ParseDict(body, request_type(), ignore_unknown_fields=True)
        await calls.relay(gateway_of(request), method, req)
        return json_response({"ok": True})

    inject.__name__ = f"sandbox_{method}"  # routes are named after their handlers
    return inject


sandbox_reaction = _injection("InjectReaction", session_pb2.InjectReactionRequest)


sandbox_edit = _injection("InjectEdit", session_pb2.InjectEditRequest)


sandbox_revoke = _injection("InjectRevoke", session_pb2.InjectRevokeRequest)


sandbox_poll_vote = _injection("InjectPollVote", session_pb2.InjectPollVoteRequest)


sandbox_not_on_whatsapp = _injection("MarkNotOnWhatsApp", session_pb2.MarkNotOnWhatsAppRequest)


async def sandbox_create_group(request: web.Request) -> web.StreamResponse:
    """The simulated server puts the line in a new group."""
    body = request[BODY]
    req = session_pb2.CreateGroupRequest(
        session_id=line_id(request),
        subject=body["subject"],
        description=body.get("description", ""),
        participants=[
            common_pb2.GroupParticipant(
                jid=p["jid"],
                is_admin=bool(p.get("is_admin")),
                is_super_admin=bool(p.get("is_super_admin")),
            )
            for p in body.get("participants", [])
        ],
    )
    reply = await calls.relay(gateway_of(request), "CreateGroup", req)
    return json_response({"group_id": reply.group_id}, 201)


async def sandbox_participants(request: web.Request) -> web.StreamResponse:
    """Members of a group change (a `group.participants` event follows)."""
    body = request[BODY]
    req = session_pb2.ChangeParticipantsRequest(
        session_id=line_id(request),
        group_id=request.match_info["group_id"],
        action=body["action"],
        participants=body["participants"],
        author=body.get("author", ""),
    )
    await calls.relay(gateway_of(request), "ChangeParticipants", req)
    return json_response({"ok": True})


sandbox_presence = _injection("InjectPresence", session_pb2.InjectPresenceRequest)


async def sandbox_disconnect(request: web.Request) -> web.StreamResponse:
    """The phone drops the connection (it comes back) or, with `logout`, logs the line out."""
    body = request[BODY]
    req = session_pb2.PhoneDisconnectRequest(
        session_id=line_id(request), logout=bool(body.get("logout"))
    )
    reply = await calls.relay(gateway_of(request), "PhoneDisconnect", req)
    return json_response({"status": STATUS_FROM_PROTO.get(reply.status, "disconnected")})


async def sandbox_sent(request: web.Request) -> web.StreamResponse:
    """Every message the simulated WhatsApp server received from the line."""
    reply = await calls.relay(
        gateway_of(request), "ListSent", session_pb2.ListSentRequest(session_id=line_id(request))
    )
    return json_response(
        {
            "messages": [message_proto_data(m) for m in reply.messages],
            "actions": [
                {
                    "kind": a.kind,
                    "chat_id": a.chat_id,
                    "message_id": a.message_id,
                    "emoji": a.emoji,
                    "text": a.text,
                    "to": a.to,
                    "new_message_id": a.new_message_id,
                    "presence": a.presence,
                    "timestamp": proto_time(a.timestamp),
                }
                for a in reply.actions
            ],
        }
    )


_TAG = "sandbox"
_SANDBOX = "/v1/sessions/{id}/sandbox"
_ERRORS = (400, 404, 409, 503)
_UNPROCESSABLE = (*_ERRORS, 422)  # a wrong pairing code; a vote for options the poll lacks
OPERATIONS = [
    Operation(
        "POST",
        _SANDBOX + "/scan",
        sandbox_scan,
        "Sandbox: scan the QR code",
        _TAG,
        response=Response("Paired", s.SCAN_REPLY),
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        _SANDBOX + "/pairing-code",
        sandbox_enter_pairing_code,
        "Sandbox: enter the pairing code on the phone",
        _TAG,
        response=Response("Paired", s.SCAN_REPLY),
        body=s.PAIRING_CODE_ENTRY,
        errors=_UNPROCESSABLE,
    ),
    Operation(
        "POST",
        _SANDBOX + "/inbound",
        sandbox_inbound,
        "Sandbox: receive a message",
        _TAG,
        ok=201,
        response=Response("The received message", s.INBOUND_REPLY),
        body=s.INBOUND,
        max_json_bytes=MAX_INLINE_MEDIA_BODY,
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        _SANDBOX + "/reaction",
        sandbox_reaction,
        "Sandbox: a contact reacts to a message",
        _TAG,
        response=Response("Injected", s.OK_REPLY),
        body=s.INJECT_REACTION,
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        _SANDBOX + "/edit",
        sandbox_edit,
        "Sandbox: a contact edits one of its messages",
        _TAG,
        response=Response("Injected", s.OK_REPLY),
        body=s.INJECT_EDIT,
        max_json_bytes=MAX_TEXT_BODY_BYTES,
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        _SANDBOX + "/revoke",
        sandbox_revoke,
        "Sandbox: a contact deletes one of its messages for everyone",
        _TAG,
        response=Response("Injected", s.OK_REPLY),
        body=s.INJECT_REVOKE,
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        _SANDBOX + "/poll-vote",
        sandbox_poll_vote,
        "Sandbox: a contact votes on a poll (a poll.vote event)",
        _TAG,
        response=Response("Injected", s.OK_REPLY),
        body=s.INJECT_POLL_VOTE,
        errors=_UNPROCESSABLE,
    ),
    Operation(
        "POST",
        _SANDBOX + "/not-on-whatsapp",
        sandbox_not_on_whatsapp,
        "Sandbox: a number is not on WhatsApp (checks say so, sends to it are refused)",
        _TAG,
        response=Response("Marked", s.OK_REPLY),
        body=s.NOT_ON_WHATSAPP,
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        _SANDBOX + "/groups",
        sandbox_create_group,
        "Sandbox: the line is put in a new group",
        _TAG,
        ok=201,
        response=Response("The group's JID", s.GROUP_CREATED),
        body=s.CREATE_GROUP,
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        _SANDBOX + "/groups/{group_id}/participants",
        sandbox_participants,
        "Sandbox: members of a group change (a group.participants event)",
        _TAG,
        response=Response("Injected", s.OK_REPLY),
        body=s.CHANGE_PARTICIPANTS,
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        _SANDBOX + "/presence",
        sandbox_presence,
        "Sandbox: a contact's presence in a chat (a presence.update event)",
        _TAG,
        response=Response("Injected", s.OK_REPLY),
        body=s.INJECT_PRESENCE,
        errors=_ERRORS,
    ),
    Operation(
        "POST",
        _SANDBOX + "/disconnect",
        sandbox_disconnect,
        "Sandbox: phone disconnects or logs out",
        _TAG,
        response=Response("The new status", s.STATUS_REPLY),
        body=s.PHONE_DISCONNECT,
        errors=_ERRORS,
    ),
    Operation(
        "GET",
        _SANDBOX + "/sent",
        sandbox_sent,
        "Sandbox: messages the server received",
        _TAG,
        response=Response("Sent messages", s.SENT_LIST),
        errors=_ERRORS,
    ),
]
