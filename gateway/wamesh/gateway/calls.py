"""Typed worker calls through the router, shared by the REST handlers and the gRPC front.

Each function takes and returns the wire messages; which calls are idempotent (and so retried
when a worker moves) is decided here, once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from wamesh.gateway.routing import WorkerRouter
from wamesh.jid import parse_phone, parse_recipient
from wamesh.session.line import check_text
from wamesh.v1 import common_pb2, session_pb2
from wamesh.v1.session_pb2_grpc import SandboxServiceStub, SessionServiceStub


async def get_status(
    router: WorkerRouter, req: session_pb2.GetStatusRequest
) -> session_pb2.GetStatusResponse:
    """GetStatus (idempotent)."""
    return await router.call(
        req.session_id,
        "GetStatus",
        lambda ch, md, t: SessionServiceStub(ch).GetStatus(req, metadata=md, timeout=t),
        idempotent=True,
    )


async def send_message(
    router: WorkerRouter, req: session_pb2.SendMessageRequest
) -> session_pb2.SendMessageResponse:
    """SendMessage, checked before routing; a client message id is filled in when missing, which
    makes it idempotent and so safe to retry when the worker moves."""
    parse_recipient(req.to)
    check_text(req.text)
    if not req.client_message_id:
        req.client_message_id = f"gw-{uuid.uuid4()}"
    return await router.call(
        req.session_id,
        "SendMessage",
        lambda ch, md, t: SessionServiceStub(ch).SendMessage(req, metadata=md, timeout=t),
        idempotent=True,
    )


async def logout(
    router: WorkerRouter, req: session_pb2.LogoutRequest
) -> session_pb2.LogoutResponse:
    """Logout (idempotent: logging out twice is logged out)."""
    return await router.call(
        req.session_id,
        "Logout",
        lambda ch, md, t: SessionServiceStub(ch).Logout(req, metadata=md, timeout=t),
        idempotent=True,
    )


async def restart(
    router: WorkerRouter, req: session_pb2.RestartRequest
) -> session_pb2.RestartResponse:
    """Restart (not retried: a second restart is a second restart)."""
    return await router.call(
        req.session_id,
        "Restart",
        lambda ch, md, t: SessionServiceStub(ch).Restart(req, metadata=md, timeout=t),
        idempotent=False,
    )


async def request_pairing_code(
    router: WorkerRouter, req: session_pb2.RequestPairingCodeRequest
) -> session_pb2.RequestPairingCodeResponse:
    """RequestPairingCode, the phone checked before routing (not retried: each call issues a
    new code and voids the previous one)."""
    parse_phone(req.phone)
    return await router.call(
        req.session_id,
        "RequestPairingCode",
        lambda ch, md, t: SessionServiceStub(ch).RequestPairingCode(req, metadata=md, timeout=t),
        idempotent=False,
    )


def stream_qr(
    router: WorkerRouter, req: session_pb2.StreamQrRequest
) -> AsyncIterator[session_pb2.QrUpdate]:
    """StreamQr relayed until the worker ends it or goes away."""
    return router.stream(
        req.session_id,
        "StreamQr",
        lambda ch, md: SessionServiceStub(ch).StreamQr(req, metadata=md).__aiter__(),
    )


def stream_events(
    router: WorkerRouter, req: session_pb2.StreamEventsRequest
) -> AsyncIterator[common_pb2.Event]:
    """StreamEvents relayed until the worker goes away."""
    return router.stream(
        req.session_id,
        "StreamEvents",
        lambda ch, md: SessionServiceStub(ch).StreamEvents(req, metadata=md).__aiter__(),
    )


async def scan(router: WorkerRouter, req: session_pb2.ScanRequest) -> session_pb2.ScanResponse:
    """Sandbox: scan the QR."""
    return await router.call(
        req.session_id,
        "Scan",
        lambda ch, md, t: SandboxServiceStub(ch).Scan(req, metadata=md, timeout=t),
        idempotent=False,
    )


async def enter_pairing_code(
    router: WorkerRouter, req: session_pb2.EnterPairingCodeRequest
) -> session_pb2.EnterPairingCodeResponse:
    """Sandbox: the phone types the pairing code."""
    return await router.call(
        req.session_id,
        "EnterPairingCode",
        lambda ch, md, t: SandboxServiceStub(ch).EnterPairingCode(req, metadata=md, timeout=t),
        idempotent=False,
    )


async def inject_inbound(
    router: WorkerRouter, req: session_pb2.InjectInboundRequest
) -> session_pb2.InjectInboundResponse:
    """Sandbox: a contact sends the line a message."""
    return await router.call(
        req.session_id,
        "InjectInbound",
        lambda ch, md, t: SandboxServiceStub(ch).InjectInbound(req, metadata=md, timeout=t),
        idempotent=False,
    )


async def inject_ack(
    router: WorkerRouter, req: session_pb2.InjectAckRequest
) -> session_pb2.InjectAckResponse:
    """Sandbox: report an ack."""
    return await router.call(
        req.session_id,
        "InjectAck",
        lambda ch, md, t: SandboxServiceStub(ch).InjectAck(req, metadata=md, timeout=t),
        idempotent=True,
    )


async def phone_disconnect(
    router: WorkerRouter, req: session_pb2.PhoneDisconnectRequest
) -> session_pb2.PhoneDisconnectResponse:
    """Sandbox: the phone drops the connection or logs out."""
    return await router.call(
        req.session_id,
        "PhoneDisconnect",
        lambda ch, md, t: SandboxServiceStub(ch).PhoneDisconnect(req, metadata=md, timeout=t),
        idempotent=False,
    )


async def list_sent(
    router: WorkerRouter, req: session_pb2.ListSentRequest
) -> session_pb2.ListSentResponse:
    """Sandbox: what the simulated server received."""
    return await router.call(
        req.session_id,
        "ListSent",
        lambda ch, md, t: SandboxServiceStub(ch).ListSent(req, metadata=md, timeout=t),
        idempotent=True,
    )
