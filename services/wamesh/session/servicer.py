"""The worker's gRPC handlers: parse, call the line, render (errors map in wamesh.rpc.errors)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import grpc.aio

from wamesh.constants import EVENT_SESSION_QR, EVENT_SESSION_STATUS
from wamesh.engines.rich import GroupInfo
from wamesh.errors import InvalidInput, WameshError, WrongSession
from wamesh.rpc.errors import abort, translate_errors
from wamesh.session.events import (
    STATUS_TO_PROTO,
    LineEvent,
    event_to_proto,
    qr_event,
    status_event,
    timestamp,
)
from wamesh.session.hub import check_recent
from wamesh.session.line import FINAL_STATUSES, Line
from wamesh.session.messaging import SendRequest, SendResult, request_of
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


def check_line(line: Line, session_id: str) -> None:
    """WrongSession unless `session_id` names the line this worker serves."""
    if session_id != line.session_id:
        raise WrongSession(session_id, line.session_id)


class SessionServicer(session_pb2_grpc.SessionServiceServicer):
    """SessionService for the one line this worker serves."""

    def __init__(self, line: Line, address: str, engine_kind: str, started_at: datetime) -> None:
        self._line = line
        self._address = address
        self._engine_kind = engine_kind
        self._started_at = started_at

    @translate_errors
    async def GetStatus(
        self, request: session_pb2.GetStatusRequest, context: Context
    ) -> session_pb2.GetStatusResponse:
        """The line's live status."""
        check_line(self._line, request.session_id)
        return status_response(self._line, self._address, self._engine_kind, self._started_at)

    @translate_errors
    async def SendMessage(
        self, request: session_pb2.SendMessageRequest, context: Context
    ) -> session_pb2.SendMessageResponse:
        """Send once per client message id (media arrives as a stored `media_id` only)."""
        check_line(self._line, request.session_id)
        result = await self._line.send_message(send_request(request))
        return send_response(result)

    @translate_errors
    async def React(
        self, request: session_pb2.ReactRequest, context: Context
    ) -> session_pb2.ReactResponse:
        """Set or remove the line's reaction."""
        check_line(self._line, request.session_id)
        await self._line.react(request.chat_id, request.message_id, request.emoji)
        return session_pb2.ReactResponse()

    @translate_errors
    async def EditMessage(
        self, request: session_pb2.EditMessageRequest, context: Context
    ) -> session_pb2.EditMessageResponse:
        """Edit a message the line sent."""
        check_line(self._line, request.session_id)
        await self._line.edit(request.chat_id, request.message_id, request.text)
        return session_pb2.EditMessageResponse()

    @translate_errors
    async def RevokeMessage(
        self, request: session_pb2.RevokeMessageRequest, context: Context
    ) -> session_pb2.RevokeMessageResponse:
        """Delete a message the line sent, for everyone."""
        check_line(self._line, request.session_id)
        await self._line.revoke(request.chat_id, request.message_id)
        return session_pb2.RevokeMessageResponse()

    @translate_errors
    async def ForwardMessage(
        self, request: session_pb2.ForwardMessageRequest, context: Context
    ) -> session_pb2.SendMessageResponse:
        """Forward a message once per client message id."""
        check_line(self._line, request.session_id)
        result = await self._line.forward(
            request.chat_id, request.message_id, request.to, request.client_message_id
        )
        return send_response(result)

    @translate_errors
    async def CheckContact(
        self, request: session_pb2.CheckContactRequest, context: Context
    ) -> session_pb2.CheckContactResponse:
        """Whether a number, JID or LID is on WhatsApp, with its JID and LID."""
        check_line(self._line, request.session_id)
        info = await self._line.check_contact(request.id)
        return session_pb2.CheckContactResponse(
            exists=info.exists, jid=info.jid or "", lid=info.lid or ""
        )

    @translate_errors
    async def ListGroups(
        self, request: session_pb2.ListGroupsRequest, context: Context
    ) -> session_pb2.ListGroupsResponse:
        """The groups the line is in."""
        check_line(self._line, request.session_id)
        groups = await self._line.list_groups()
        return session_pb2.ListGroupsResponse(groups=[group_to_proto(g) for g in groups])

    @translate_errors
    async def GetGroup(
        self, request: session_pb2.GetGroupRequest, context: Context
    ) -> session_pb2.GetGroupResponse:
        """One group with its participants."""
        check_line(self._line, request.session_id)
        group = await self._line.group_info(request.group_id)
        return session_pb2.GetGroupResponse(group=group_to_proto(group))

    @translate_errors
    async def MarkRead(
        self, request: session_pb2.MarkReadRequest, context: Context
    ) -> session_pb2.MarkReadResponse:
        """Mark every message of a chat read."""
        check_line(self._line, request.session_id)
        await self._line.mark_read(request.chat_id)
        return session_pb2.MarkReadResponse()

    @translate_errors
    async def SetPresence(
        self, request: session_pb2.SetPresenceRequest, context: Context
    ) -> session_pb2.SetPresenceResponse:
        """Show a chat state in a chat, or online / offline."""
        check_line(self._line, request.session_id)
        await self._line.set_presence(request.chat_id, request.presence)
        return session_pb2.SetPresenceResponse()

    @translate_errors
    async def SubscribePresence(
        self, request: session_pb2.SubscribePresenceRequest, context: Context
    ) -> session_pb2.SubscribePresenceResponse:
        """Receive a contact's presence as `presence.update` events."""
        check_line(self._line, request.session_id)
        jid = await self._line.subscribe_presence(request.contact)
        return session_pb2.SubscribePresenceResponse(jid=jid)

    async def StreamQr(
        self, request: session_pb2.StreamQrRequest, context: Context
    ) -> AsyncIterator[session_pb2.QrUpdate]:
        """The current QR, then each rotation; ends when the line is ready, stops or logs out."""
        try:
            check_line(self._line, request.session_id)
        except WameshError as exc:
            await abort(context, exc)
        async for update in qr_updates(self._line):
            yield update

    async def StreamEvents(
        self, request: session_pb2.StreamEventsRequest, context: Context
    ) -> AsyncIterator[common_pb2.Event]:
        """Every event of the line (optionally only some types), until the worker stops; first
        up to `recent` of the latest ones the worker holds."""
        try:
            check_line(self._line, request.session_id)
            recent = check_recent(request.recent)
        except WameshError as exc:
            await abort(context, exc)
        wanted = frozenset(request.types)
        first = current_events(self._line, wanted) if request.current else ()
        async with self._line.hub.subscribe(recent, wanted, request.after, first) as events:
            async for event in events:
                yield event_to_proto(self._line.session_id, event)

    @translate_errors
    async def Logout(
        self, request: session_pb2.LogoutRequest, context: Context
    ) -> session_pb2.LogoutResponse:
        """Log out; auth state is purged."""
        check_line(self._line, request.session_id)
        status = await self._line.logout()
        return session_pb2.LogoutResponse(status=STATUS_TO_PROTO[status])

    @translate_errors
    async def Restart(
        self, request: session_pb2.RestartRequest, context: Context
    ) -> session_pb2.RestartResponse:
        """Restart the engine (auth state is kept)."""
        check_line(self._line, request.session_id)
        await self._line.restart()
        return session_pb2.RestartResponse(status=STATUS_TO_PROTO[self._line.status])

    @translate_errors
    async def RequestPairingCode(
        self, request: session_pb2.RequestPairingCodeRequest, context: Context
    ) -> session_pb2.RequestPairingCodeResponse:
        """A code to type on the phone instead of scanning the QR."""
        check_line(self._line, request.session_id)
        pairing = await self._line.request_pairing_code(request.phone)
        return session_pb2.RequestPairingCodeResponse(
            code=pairing.code, phone=pairing.phone, expires_at=timestamp(pairing.expires_at)
        )


def send_request(request: session_pb2.SendMessageRequest) -> SendRequest:
    """A SendMessage request as the line's; media other than a stored id is refused."""
    if request.HasField("media") and request.media.WhichOneof("source") != "media_id":
        raise InvalidInput("the worker takes media by media_id only", "media")
    return request_of(request)


def send_response(result: SendResult) -> session_pb2.SendMessageResponse:
    """What SendMessage and ForwardMessage answer."""
    return session_pb2.SendMessageResponse(
        message_id=result.message_id,
        chat_id=result.chat_id,
        client_message_id=result.client_message_id,
        duplicate=result.duplicate,
        timestamp=timestamp(result.timestamp),
    )


def status_response(
    line: Line, address: str, engine: str, started_at: datetime
) -> session_pb2.GetStatusResponse:
    """GetStatus's answer."""
    qr = line.qr
    return session_pb2.GetStatusResponse(
        session_id=line.session_id,
        status=STATUS_TO_PROTO[line.status],
        me=line.me or "",
        lid=line.lid or "",
        qr=qr.code if qr else "",
        qr_expires_at=timestamp(qr.expires_at) if qr else None,
        last_error=line.last_error or "",
        engine=engine,
        worker_address=address,
        started_at=timestamp(started_at),
    )


def current_events(line: Line, types: frozenset[str]) -> list[LineEvent]:
    """The line's state now as events (`session.status`, and `session.qr` while it shows one)."""
    now = [status_event(line.status, me=line.me, lid=line.lid, reason=line.last_error)]
    if line.status == "qr" and line.qr is not None:
        now.append(qr_event(line.qr.code, line.qr.expires_at, line.qr.rotation))
    return [e for e in now if not types or e.type in types]


async def qr_updates(line: Line) -> AsyncIterator[session_pb2.QrUpdate]:
    """QR updates for StreamQr: subscribe first, then the current state, then changes."""
    async with line.hub.subscribe() as events:
        if line.status != "qr" or line.qr is None:
            yield session_pb2.QrUpdate(status=STATUS_TO_PROTO[line.status])
            if line.status == "ready" or line.status in FINAL_STATUSES:
                return
        else:
            yield _qr_update(line.qr.code, line.qr.expires_at, line.qr.rotation)
        async for event in events:
            if event.type == EVENT_SESSION_QR:
                d = event.data
                yield _qr_update(
                    d["qr"],
                    datetime.fromisoformat(d["expires_at"].replace("Z", "+00:00")),
                    d["rotation"],
                )
            elif event.type == EVENT_SESSION_STATUS and event.data["status"] != "qr":
                status = event.data["status"]
                yield session_pb2.QrUpdate(status=STATUS_TO_PROTO[status])
                if status == "ready" or status in FINAL_STATUSES:
                    return


def group_to_proto(group: GroupInfo) -> common_pb2.Group:
    """A group on the wire."""
    return common_pb2.Group(
        jid=group.jid,
        subject=group.subject,
        description=group.description,
        participants=[
            common_pb2.GroupParticipant(
                jid=p.jid, is_admin=p.is_admin, is_super_admin=p.is_super_admin
            )
            for p in group.participants
        ],
    )


def _qr_update(code: str, expires_at: datetime, rotation: int) -> session_pb2.QrUpdate:
    return session_pb2.QrUpdate(
        status=common_pb2.SESSION_STATUS_QR,
        qr=common_pb2.QrCode(code=code, expires_at=timestamp(expires_at), rotation=rotation),
    )
