"""A line's live calls: send, QR (JSON, PNG, SVG), pairing code, events (SSE), logout, restart."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import segno
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.json_format import MessageToDict

from wamesh.constants import MAX_TEXT_BODY_BYTES
from wamesh.errors import InvalidInput, QrUnavailable
from wamesh.gateway import calls
from wamesh.gateway import schemas as s
from wamesh.gateway.api import (
    BODY,
    Operation,
    Query,
    Response,
    line_id,
    query_int,
    query_param,
)
from wamesh.gateway.context import gateway_of
from wamesh.gateway.render import json_response, proto_time
from wamesh.jid import parse_recipient
from wamesh.outbox import envelope
from wamesh.session.events import STATUS_FROM_PROTO
from wamesh.session.hub import RECENT_EVENTS
from wamesh.session.messaging import check_message_id
from wamesh.structured import card
from wamesh.v1 import common_pb2, session_pb2

SSE_HEARTBEAT_S = 15.0
# Base64 media travel inside the JSON body, which is read whole: larger files go by URL or upload.
MAX_INLINE_MEDIA_BODY = 16 * 1024 * 1024
_QR_FORMATS = {"json": "application/json", "png": "image/png", "svg": "image/svg+xml"}


async def send_message(request: web.Request) -> web.StreamResponse:
    """Send a text, media (url, base64 or media_id) with a caption, a location, contact cards
    or a poll, optionally replying and mentioning; `client_message_id` makes it idempotent (one
    is assigned when missing)."""
    gw = gateway_of(request)
    body = request[BODY]
    req = session_pb2.SendMessageRequest(
        session_id=line_id(request),
        to=body["to"],
        text=body.get("text", ""),
        client_message_id=body.get("client_message_id", ""),
        reply_to=body.get("reply_to", ""),
        mentions=body.get("mentions", []),
        **structured_content(body),
    )
    media = body.get("media")
    if media is not None:
        parse_recipient(req.to)  # before anything is fetched or stored
        req.media.kind = media["kind"]
        req.media.mimetype = media.get("mimetype", "")
        req.media.filename = media.get("filename", "")
        if "url" in media:
            req.media.url = media["url"]
        elif "media_id" in media:
            req.media.media_id = media["media_id"]
        else:
            known = await calls.known_send(gw, req)
            if known is not None:
                return sent_response(known)
            req.media.media_id = (
                await calls.ingest_base64_media(gw, req.session_id, media)
            ).media_id
    return sent_response(await calls.relay(gw, "SendMessage", req))


def structured_content(body: dict[str, Any]) -> dict[str, Any]:
    """A body's `location`, `contacts` and `poll` as protobuf fields; each contact card is a
    vCard, or a name and a phone number written as one (wamesh.structured.card)."""
    fields: dict[str, Any] = {}
    if "location" in body:
        fields["location"] = json_format.ParseDict(body["location"], common_pb2.Location())
    if "contacts" in body:
        cards = [
            card(c.get("name", ""), c.get("phone", ""), c.get("vcard", ""))
            for c in body["contacts"]
        ]
        fields["contacts"] = [common_pb2.ContactCard(name=c.name, vcard=c.vcard) for c in cards]
    if "poll" in body:
        fields["poll"] = json_format.ParseDict(body["poll"], common_pb2.Poll())
    return fields


def sent_response(reply: session_pb2.SendMessageResponse) -> web.Response:
    """A send's or forward's answer: 201, or 200 for a repeated client_message_id."""
    return json_response(
        {
            "message_id": reply.message_id,
            "chat_id": reply.chat_id,
            "client_message_id": reply.client_message_id,
            "duplicate": reply.duplicate,
            "timestamp": proto_time(reply.timestamp),
        },
        200 if reply.duplicate else 201,
    )


def _message_id(request: web.Request) -> str:
    message_id = request.match_info["message_id"]
    check_message_id(message_id)
    return message_id


async def react_to_message(request: web.Request) -> web.StreamResponse:
    """Set the line's reaction to a message (an empty emoji removes it)."""
    body = request[BODY]
    req = session_pb2.ReactRequest(
        session_id=line_id(request),
        chat_id=body["chat_id"],
        message_id=_message_id(request),
        emoji=body["emoji"],
    )
    await calls.relay(gateway_of(request), "React", req)
    return _action_response(req.message_id, req.chat_id, "reaction")


async def edit_message(request: web.Request) -> web.StreamResponse:
    """Replace the text (or caption) of a message the line sent."""
    body = request[BODY]
    req = session_pb2.EditMessageRequest(
        session_id=line_id(request),
        chat_id=body["chat_id"],
        message_id=_message_id(request),
        text=body["text"],
    )
    await calls.relay(gateway_of(request), "EditMessage", req)
    return _action_response(req.message_id, req.chat_id, "edit")


async def revoke_message(request: web.Request) -> web.StreamResponse:
    """Delete a message the line sent, for everyone (`?chat_id=` names its chat; without it,
    the chat the line sent it to through wamesh)."""
    req = session_pb2.RevokeMessageRequest(
        session_id=line_id(request),
        chat_id=query_param(request, "chat_id") or "",
        message_id=_message_id(request),
    )
    await calls.relay(gateway_of(request), "RevokeMessage", req)
    return _action_response(req.message_id, req.chat_id or None, "revoke")


async def forward_message(request: web.Request) -> web.StreamResponse:
    """Forward a message to another chat, once per client_message_id."""
    body = request[BODY]
    req = session_pb2.ForwardMessageRequest(
        session_id=line_id(request),
        chat_id=body["chat_id"],
        message_id=_message_id(request),
        to=body["to"],
        client_message_id=body.get("client_message_id", ""),
    )
    return sent_response(await calls.relay(gateway_of(request), "ForwardMessage", req))


def _action_response(message_id: str, chat_id: str | None, action: str) -> web.Response:
    return json_response({"message_id": message_id, "chat_id": chat_id, "action": action})


def _qr_format(request: web.Request) -> str:
    wanted = query_param(request, "format")
    if wanted is not None:
        if wanted not in _QR_FORMATS:
            raise InvalidInput("format must be json, png or svg", "format")
        return wanted
    accept = request.headers.get("Accept", "")
    for name, media in _QR_FORMATS.items():
        if media in accept and name != "json":
            return name
    return "json"


async def get_qr(request: web.Request) -> web.StreamResponse:
    """The line's current QR code as JSON, or as a PNG/SVG image (`?format=` or `Accept`);
    409 `qr_unavailable` with the line's status in every format while it shows none."""
    fmt = _qr_format(request)
    reply = await calls.relay(
        gateway_of(request), "GetStatus", session_pb2.GetStatusRequest(session_id=line_id(request))
    )
    status = STATUS_FROM_PROTO.get(reply.status, "starting")
    if not reply.qr:  # the same answer in every format: an image cannot say "none"
        raise QrUnavailable(line_id(request), status)
    if fmt == "json":
        return json_response(
            {"status": status, "qr": reply.qr, "expires_at": proto_time(reply.qr_expires_at)}
        )
    return web.Response(body=_render_qr(reply.qr, fmt), content_type=_QR_FORMATS[fmt])


def _render_qr(code: str, fmt: str) -> bytes:
    out = io.BytesIO()
    segno.make_qr(code, error="l").save(out, kind=fmt, scale=6, border=2)
    return out.getvalue()


async def request_pairing_code(request: web.Request) -> web.StreamResponse:
    """A code to type on the phone (Linked devices > Link with phone number) instead of the QR."""
    reply = await calls.relay(
        gateway_of(request),
        "RequestPairingCode",
        session_pb2.RequestPairingCodeRequest(
            session_id=line_id(request), phone=request[BODY]["phone"]
        ),
    )
    return json_response(
        {"code": reply.code, "phone": reply.phone, "expires_at": proto_time(reply.expires_at)}
    )


async def stream_line_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events of the line (each new QR included) until the worker goes away: first
    its current status (and QR), then with `Last-Event-ID` every held event after that one, or
    with `recent` up to that many of the latest events the worker holds."""
    gw = gateway_of(request)
    session_id = line_id(request)
    types = [t for t in (query_param(request, "types") or "").split(",") if t]
    recent = query_int(request, "recent", 0, 0, RECENT_EVENTS)
    if await gw.router.resolve(session_id) is None:
        raise await gw.router.offline(session_id)
    events = calls.stream(
        gw.router,
        "StreamEvents",
        session_pb2.StreamEventsRequest(
            session_id=session_id,
            types=types,
            recent=recent,
            after=_last_event_id(request),
            current=True,
        ),
    )
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    try:
        await response.write(b": connected\n\n")
        async for chunk in _sse(events):
            await response.write(chunk)
        await response.write(b"event: end\ndata: {}\n\n")
    except ConnectionResetError:  # the client went away: nothing to answer, nothing to log
        pass
    return response


def _last_event_id(request: web.Request) -> str:
    """The `Last-Event-ID` an SSE client resends on reconnect (an event id is a UUID)."""
    value = request.headers.get("Last-Event-ID", "").strip()
    if value and (len(value) > 64 or not value.isascii()):
        raise InvalidInput("Last-Event-ID: not an event id", "Last-Event-ID")
    return value


async def _sse(events: AsyncIterator[common_pb2.Event]) -> AsyncIterator[bytes]:
    iterator = events.__aiter__()
    pending: asyncio.Task[common_pb2.Event] | None = None
    try:
        while True:
            pending = pending or asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=SSE_HEARTBEAT_S)
            if not done:
                yield b": heartbeat\n\n"
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield _sse_frame(event)
    finally:
        if pending is not None:
            pending.cancel()


def _sse_frame(event: common_pb2.Event) -> bytes:
    """The webhook's envelope and `data` (`data_json`, written by the worker's one serializer)."""
    data = json.loads(event.data_json) if event.data_json else MessageToDict(event.data)
    moment = event.timestamp.ToDatetime(tzinfo=UTC)
    body = json.dumps(envelope(event.id, event.type, event.session_id, data, moment))
    return f"id: {event.id}\nevent: {event.type}\ndata: {body}\n\n".encode()


async def logout_session(request: web.Request) -> web.StreamResponse:
    """Log the line out; its auth state is purged."""
    reply = await calls.relay(
        gateway_of(request), "Logout", session_pb2.LogoutRequest(session_id=line_id(request))
    )
    return json_response({"status": STATUS_FROM_PROTO.get(reply.status, "logged_out")})


async def restart_session(request: web.Request) -> web.StreamResponse:
    """Restart the line's engine (auth state kept)."""
    reply = await calls.relay(
        gateway_of(request), "Restart", session_pb2.RestartRequest(session_id=line_id(request))
    )
    return json_response({"status": STATUS_FROM_PROTO.get(reply.status, "starting")})


_TAG = "messaging"
_LINE = "/v1/sessions/{id}"
_LIVE = (404, 409, 503)
OPERATIONS = [
    Operation(
        "POST",
        _LINE + "/messages",
        send_message,
        "Send a message: text, or media (url, base64 or media_id) with a caption",
        _TAG,
        ok=201,
        response=Response("Sent (200 when the client_message_id was used before)", s.MESSAGE_SENT),
        body=s.SEND_MESSAGE,
        max_json_bytes=MAX_INLINE_MEDIA_BODY,
        errors=(400, *_LIVE, 422, 501),
        extra_responses={200: Response("Already sent with this client_message_id", s.MESSAGE_SENT)},
    ),
    Operation(
        "POST",
        _LINE + "/messages/{message_id}/reaction",
        react_to_message,
        "React to a message (an empty emoji removes the reaction)",
        _TAG,
        response=Response("Reacted", s.MESSAGE_ACTION),
        body=s.REACTION_REQUEST,
        errors=(400, *_LIVE, 501),
    ),
    Operation(
        "PATCH",
        _LINE + "/messages/{message_id}",
        edit_message,
        "Edit the text of a message the line sent",
        _TAG,
        response=Response("Edited", s.MESSAGE_ACTION),
        body=s.EDIT_REQUEST,
        max_json_bytes=MAX_TEXT_BODY_BYTES,
        errors=(400, *_LIVE, 501),
    ),
    Operation(
        "DELETE",
        _LINE + "/messages/{message_id}",
        revoke_message,
        "Delete a message the line sent, for everyone",
        _TAG,
        response=Response("Deleted for everyone", s.MESSAGE_ACTION),
        query=(
            Query(
                "chat_id",
                "The chat the message is in (default: where the line sent it)",
                s.RECIPIENT,
            ),
        ),
        errors=(400, *_LIVE, 501),
    ),
    Operation(
        "POST",
        _LINE + "/messages/{message_id}/forward",
        forward_message,
        "Forward a message to another chat",
        _TAG,
        ok=201,
        response=Response(
            "Forwarded (200 when the client_message_id was used before)", s.MESSAGE_SENT
        ),
        body=s.FORWARD_REQUEST,
        errors=(400, *_LIVE, 422, 501),
        extra_responses={200: Response("Already sent with this client_message_id", s.MESSAGE_SENT)},
    ),
    Operation(
        "GET",
        _LINE + "/qr",
        get_qr,
        "The current QR code (JSON, PNG or SVG)",
        _TAG,
        response=Response("The QR code", s.QR, ("application/json", "image/png", "image/svg+xml")),
        query=(
            Query(
                "format",
                "json, png or svg (default: by Accept, else json)",
                {"type": "string", "enum": ["json", "png", "svg"]},
            ),
        ),
        errors=(400, *_LIVE),
    ),
    Operation(
        "POST",
        _LINE + "/pairing-code",
        request_pairing_code,
        "Link by phone number: a pairing code instead of the QR",
        _TAG,
        response=Response(
            "The code to type on the phone, and until when it is valid", s.PAIRING_CODE
        ),
        body=s.PAIRING_CODE_REQUEST,
        errors=(400, *_LIVE, 501),
    ),
    Operation(
        "GET",
        _LINE + "/events",
        stream_line_events,
        "Server-sent events of the line",
        _TAG,
        response=Response("An event stream", {"type": "string"}, ("text/event-stream",)),
        query=(
            Query("types", "comma-separated event types (default: all)"),
            Query(
                "recent",
                f"first replay up to this many of the line's latest events (0..{RECENT_EVENTS}; "
                "the worker keeps them in memory: none after it restarted)",
                {"type": "integer", "minimum": 0, "maximum": RECENT_EVENTS},
            ),
        ),
        errors=(404, 503),
    ),
    Operation(
        "POST",
        _LINE + "/logout",
        logout_session,
        "Log the line out",
        _TAG,
        response=Response("The new status", s.STATUS_REPLY),
        errors=_LIVE,
    ),
    Operation(
        "POST",
        _LINE + "/restart",
        restart_session,
        "Restart the line's engine",
        _TAG,
        response=Response("The new status", s.STATUS_REPLY),
        errors=_LIVE,
    ),
]
