"""`/v1/sessions/{id}/sandbox/*`: the sandbox engine's simulated phone."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wamesh.gateway import calls
from wamesh.gateway import schemas as s
from wamesh.gateway.api import BODY, Operation, Response, line_id
from wamesh.gateway.context import gateway_of
from wamesh.gateway.render import json_response, proto_time
from wamesh.session.events import ACK_FROM_PROTO, STATUS_FROM_PROTO
from wamesh.v1 import common_pb2, session_pb2


def message_json(message: common_pb2.Message) -> dict[str, Any]:
    """A wire message as JSON."""
    return {
        "id": message.id,
        "chat_id": message.chat_id,
        "from": getattr(message, "from"),
        "to": message.to,
        "from_me": message.from_me,
        "text": message.text,
        "timestamp": proto_time(message.timestamp),
        "ack": ACK_FROM_PROTO.get(message.ack, "pending"),
    }


async def sandbox_scan(request: web.Request) -> web.StreamResponse:
    """Scan the line's QR code with the simulated phone."""
    reply = await calls.scan(
        gateway_of(request).router, session_pb2.ScanRequest(session_id=line_id(request))
    )
    return json_response({"status": STATUS_FROM_PROTO.get(reply.status, "ready"), "me": reply.me})


async def sandbox_enter_pairing_code(request: web.Request) -> web.StreamResponse:
    """Type the line's pairing code on the simulated phone."""
    reply = await calls.enter_pairing_code(
        gateway_of(request).router,
        session_pb2.EnterPairingCodeRequest(
            session_id=line_id(request), code=request[BODY]["code"]
        ),
    )
    return json_response({"status": STATUS_FROM_PROTO.get(reply.status, "ready"), "me": reply.me})


async def sandbox_inbound(request: web.Request) -> web.StreamResponse:
    """A contact sends the line a message."""
    body = request[BODY]
    req = session_pb2.InjectInboundRequest(
        session_id=line_id(request), text=body["text"], **{"from": body["from"]}
    )
    reply = await calls.inject_inbound(gateway_of(request).router, req)
    return json_response({"message": message_json(reply.message)}, 201)


async def sandbox_disconnect(request: web.Request) -> web.StreamResponse:
    """The phone drops the connection (it comes back) or, with `logout`, logs the line out."""
    body = request[BODY]
    req = session_pb2.PhoneDisconnectRequest(
        session_id=line_id(request), logout=bool(body.get("logout"))
    )
    reply = await calls.phone_disconnect(gateway_of(request).router, req)
    return json_response({"status": STATUS_FROM_PROTO.get(reply.status, "disconnected")})


async def sandbox_sent(request: web.Request) -> web.StreamResponse:
    """Every message the simulated WhatsApp server received from the line."""
    reply = await calls.list_sent(
        gateway_of(request).router, session_pb2.ListSentRequest(session_id=line_id(request))
    )
    return json_response({"messages": [message_json(m) for m in reply.messages]})


_TAG = "sandbox"
_SANDBOX = "/v1/sessions/{id}/sandbox"
_ERRORS = (400, 404, 409, 503)
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
        errors=_ERRORS,
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
