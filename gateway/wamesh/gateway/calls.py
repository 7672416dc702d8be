"""Worker calls through the router, shared by the REST handlers and the gRPC front.

One method-agnostic relay: every SessionService and SandboxService method is found by name in the
proto descriptors (`METHODS`), called on the line's worker with `call`/`stream`, and retried
when a worker moves only if it is in `IDEMPOTENT`. What a method needs from the gateway before
routing (checks, a client message id, media URLs and base64 stored in the MediaStore) is in
`prepare`, the one per-method table; a new RPC needs no line here unless it needs that.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from google.protobuf.message import Message as ProtoMessage
from google.protobuf.message_factory import GetMessageClass

from wamesh.errors import InvalidInput
from wamesh.gateway.context import Gateway
from wamesh.gateway.routing import WorkerRouter
from wamesh.jid import parse_phone, parse_recipient
from wamesh.media.ingest import ingest_base64, ingest_url
from wamesh.session.chats import parse_group, parse_presence
from wamesh.session.events import timestamp
from wamesh.session.messaging import (
    check_message,
    check_message_id,
    parse_contact,
    request_of,
)
from wamesh.session.store import LineStore
from wamesh.v1 import session_pb2

P = TypeVar("P", bound=ProtoMessage)

# Safe to retry when the worker moved: repeating them changes nothing (sends and forwards carry
# a client message id, filled in by `prepare` when the caller gave none).
IDEMPOTENT = frozenset(
    {
        "GetStatus",
        "SendMessage",
        "ForwardMessage",
        "React",
        "EditMessage",
        "RevokeMessage",
        "Logout",
        "InjectAck",
        "ListSent",
        "CheckContact",
        "MarkNotOnWhatsApp",
        "ListGroups",
        "GetGroup",
        "MarkRead",
        "SetPresence",
        "SubscribePresence",
    }
)


@dataclass(frozen=True)
class Method:
    """One routed RPC."""

    name: str
    path: str
    request: type[ProtoMessage]
    response: type[ProtoMessage]
    streaming: bool


def _methods() -> dict[str, Method]:
    found = {}
    for service in session_pb2.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            found[method.name] = Method(
                method.name,
                f"/{service.full_name}/{method.name}",
                GetMessageClass(method.input_type),
                GetMessageClass(method.output_type),
                method.server_streaming,
            )
    return found


METHODS = _methods()


async def call(router: WorkerRouter, name: str, req: P) -> Any:
    """The unary method `name` on the worker of `req.session_id`."""
    method = METHODS[name]

    def invoke(channel: Any, metadata: Any, timeout: float) -> Awaitable[Any]:
        unary = channel.unary_unary(
            method.path,
            request_serializer=method.request.SerializeToString,
            response_deserializer=method.response.FromString,
        )
        return cast(Awaitable[Any], unary(req, metadata=metadata, timeout=timeout))

    return await router.call(_session_id(req), name, invoke, idempotent=name in IDEMPOTENT)


def stream(router: WorkerRouter, name: str, req: P) -> AsyncIterator[Any]:
    """The server-streaming method `name`, relayed until the worker ends it or goes away."""
    method = METHODS[name]

    def open_stream(channel: Any, metadata: Any) -> AsyncIterator[Any]:
        streaming = channel.unary_stream(
            method.path,
            request_serializer=method.request.SerializeToString,
            response_deserializer=method.response.FromString,
        )
        return cast(AsyncIterator[Any], streaming(req, metadata=metadata).__aiter__())

    return router.stream(_session_id(req), name, open_stream)


def _session_id(req: ProtoMessage) -> str:
    """Every routed request names its line in `session_id`."""
    field = req.DESCRIPTOR.fields_by_name["session_id"]
    return str(getattr(req, field.name))


async def relay(gw: Gateway, name: str, req: P) -> Any:
    """Prepare `req` (see `prepare`), then call; a prepared answer is returned as is."""
    hook = PREPARE.get(name)
    if hook is not None:
        prepared = await hook(gw, req)
        if not isinstance(prepared, METHODS[name].request):
            return prepared  # answered by the gateway (a duplicate)
        req = cast(P, prepared)
    return await call(gw.router, name, req)


async def _prepare_send(gw: Gateway, req: Any) -> ProtoMessage:
    """Check, fill the client message id, answer a known one, and store url/data media."""
    request = cast(session_pb2.SendMessageRequest, req)
    media = request.media if request.HasField("media") else None
    source = media.WhichOneof("source") if media is not None else None
    parse_recipient(request.to)
    check_message(replace(request_of(request), media_id="pending" if media is not None else ""))
    if media is not None and source is None:
        raise InvalidInput("media needs one of url, data or media_id", "media")
    if source in ("url", "data"):
        known = await known_send(gw, request)
        if known is not None:  # a repeat: nothing is fetched or stored again
            return known
    if not request.client_message_id:
        request.client_message_id = f"gw-{uuid.uuid4()}"
    if media is not None and source in ("url", "data"):
        info = await _ingest(gw, request.session_id, media)
        media.media_id = info.media_id
        if not media.mimetype:
            media.mimetype = info.mimetype
    return request


async def _ingest(gw: Gateway, session_id: str, media: session_pb2.MediaContent) -> Any:
    settings = gw.settings
    store = gw.media
    mimetype, filename = media.mimetype or None, media.filename or None
    if media.WhichOneof("source") == "url":
        return await ingest_url(
            store, session_id, media.url, settings=settings, mimetype=mimetype, filename=filename
        )
    data = media.data

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return await store.put(
        session_id,
        chunks(),
        mimetype=mimetype or "application/octet-stream",
        filename=filename,
        max_bytes=settings.media_max_bytes,
    )


async def ingest_base64_media(gw: Gateway, session_id: str, body: dict[str, Any]) -> Any:
    """REST's `media.data` (base64 or a data URL) stored in the line's MediaStore."""
    return await ingest_base64(
        gw.media,
        session_id,
        body["data"],
        body.get("mimetype"),
        body.get("filename"),
        max_bytes=gw.settings.media_max_bytes,
    )


async def known_send(
    gw: Gateway, req: session_pb2.SendMessageRequest
) -> session_pb2.SendMessageResponse | None:
    """The first answer of a repeated client message id, read where the worker keeps it (so a
    repeat with a media URL or base64 fetches and stores nothing again)."""
    if not req.client_message_id:
        return None
    known = await LineStore(gw.pool, req.session_id).find_sent(req.client_message_id)
    if known is None:
        return None
    return session_pb2.SendMessageResponse(
        message_id=known.message_id,
        chat_id=known.chat_id,
        client_message_id=req.client_message_id,
        duplicate=True,
        timestamp=timestamp(known.sent_at),
    )


async def _prepare_forward(gw: Gateway, req: Any) -> ProtoMessage:
    request = cast(session_pb2.ForwardMessageRequest, req)
    parse_recipient(request.chat_id, "chat_id")
    parse_recipient(request.to)
    check_message_id(request.message_id)
    if not request.client_message_id:
        request.client_message_id = f"gw-{uuid.uuid4()}"
    return request


async def _prepare_pairing(gw: Gateway, req: Any) -> ProtoMessage:
    parse_phone(cast(session_pb2.RequestPairingCodeRequest, req).phone)
    return cast(ProtoMessage, req)


async def _prepare_contact(gw: Gateway, req: Any) -> ProtoMessage:
    parse_contact(cast(session_pb2.CheckContactRequest, req).id)
    return cast(ProtoMessage, req)


async def _prepare_subscribe(gw: Gateway, req: Any) -> ProtoMessage:
    parse_contact(cast(session_pb2.SubscribePresenceRequest, req).contact, "contact")
    return cast(ProtoMessage, req)


async def _prepare_mark(gw: Gateway, req: Any) -> ProtoMessage:
    parse_phone(cast(session_pb2.MarkNotOnWhatsAppRequest, req).phone)
    return cast(ProtoMessage, req)


async def _prepare_group(gw: Gateway, req: Any) -> ProtoMessage:
    parse_group(cast(session_pb2.GetGroupRequest, req).group_id)
    return cast(ProtoMessage, req)


async def _prepare_read(gw: Gateway, req: Any) -> ProtoMessage:
    parse_recipient(cast(session_pb2.MarkReadRequest, req).chat_id, "chat_id")
    return cast(ProtoMessage, req)


async def _prepare_presence(gw: Gateway, req: Any) -> ProtoMessage:
    request = cast(session_pb2.SetPresenceRequest, req)
    parse_presence(request.chat_id, request.presence)
    return cast(ProtoMessage, req)


PREPARE: dict[str, Callable[[Gateway, Any], Awaitable[ProtoMessage]]] = {
    "SendMessage": _prepare_send,
    "ForwardMessage": _prepare_forward,
    "RequestPairingCode": _prepare_pairing,
    "CheckContact": _prepare_contact,
    "MarkNotOnWhatsApp": _prepare_mark,
    "GetGroup": _prepare_group,
    "MarkRead": _prepare_read,
    "SetPresence": _prepare_presence,
    "SubscribePresence": _prepare_subscribe,
}
