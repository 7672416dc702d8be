"""The worker's gRPC handlers: parse, call the line, render (errors map in wamesh.rpc.errors)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import grpc.aio

from wamesh.constants import EVENT_SESSION_QR, EVENT_SESSION_STATUS
from wamesh.engines.base import Ack
from wamesh.engines.rich import GroupInfo, Participant
from wamesh.engines.sandbox import Inbound, SandboxEngine, SentLog
from wamesh.errors import InvalidInput, SessionNotReady, WameshError, WrongSession
from wamesh.rpc.errors import abort, translate_errors
from wamesh.session.events import (
    ACK_FROM_PROTO,
    STATUS_TO_PROTO,
    event_to_proto,
    message_to_proto,
    timestamp,
)
from wamesh.session.line import FINAL_STATUSES, Line
from wamesh.session.messaging import SendRequest, SendResult
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


def _check_line(line: Line, session_id: str) -> None:
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
        _check_line(self._line, request.session_id)
        return status_response(self._line, self._address, self._engine_kind, self._started_at)

    @translate_errors
    async def SendMessage(
        self, request: session_pb2.SendMessageRequest, context: Context
    ) -> session_pb2.SendMessageResponse:
        """Send once per client message id (media arrives as a stored `media_id` only)."""
        _check_line(self._line, request.session_id)
        result = await self._line.send_message(send_request(request))
        return send_response(result)

    @translate_errors
    async def React(
        self, request: session_pb2.ReactRequest, context: Context
    ) -> session_pb2.ReactResponse:
        """Set or remove the line's reaction."""
        _check_line(self._line, request.session_id)
        await self._line.react(request.chat_id, request.message_id, request.emoji)
        return session_pb2.ReactResponse()

    @translate_errors
    async def EditMessage(
        self, request: session_pb2.EditMessageRequest, context: Context
    ) -> session_pb2.EditMessageResponse:
        """Edit a message the line sent."""
        _check_line(self._line, request.session_id)
        await self._line.edit(request.chat_id, request.message_id, request.text)
        return session_pb2.EditMessageResponse()

    @translate_errors
    async def RevokeMessage(
        self, request: session_pb2.RevokeMessageRequest, context: Context
    ) -> session_pb2.RevokeMessageResponse:
        """Delete a message the line sent, for everyone."""
        _check_line(self._line, request.session_id)
        await self._line.revoke(request.chat_id, request.message_id)
        return session_pb2.RevokeMessageResponse()

    @translate_errors
    async def ForwardMessage(
        self, request: session_pb2.ForwardMessageRequest, context: Context
    ) -> session_pb2.SendMessageResponse:
        """Forward a message once per client message id."""
        _check_line(self._line, request.session_id)
        result = await self._line.forward(
            request.chat_id, request.message_id, request.to, request.client_message_id
        )
        return send_response(result)

    @translate_errors
    async def CheckContact(
        self, request: session_pb2.CheckContactRequest, context: Context
    ) -> session_pb2.CheckContactResponse:
        """Whether a number, JID or LID is on WhatsApp, with its JID and LID."""
        _check_line(self._line, request.session_id)
        info = await self._line.check_contact(request.id)
        return session_pb2.CheckContactResponse(
            exists=info.exists, jid=info.jid or "", lid=info.lid or ""
        )

    @translate_errors
    async def ListGroups(
        self, request: session_pb2.ListGroupsRequest, context: Context
    ) -> session_pb2.ListGroupsResponse:
        """The groups the line is in."""
        _check_line(self._line, request.session_id)
        groups = await self._line.list_groups()
        return session_pb2.ListGroupsResponse(groups=[group_to_proto(g) for g in groups])

    @translate_errors
    async def GetGroup(
        self, request: session_pb2.GetGroupRequest, context: Context
    ) -> session_pb2.GetGroupResponse:
        """One group with its participants."""
        _check_line(self._line, request.session_id)
        group = await self._line.group_info(request.group_id)
        return session_pb2.GetGroupResponse(group=group_to_proto(group))

    @translate_errors
    async def MarkRead(
        self, request: session_pb2.MarkReadRequest, context: Context
    ) -> session_pb2.MarkReadResponse:
        """Mark every message of a chat read."""
        _check_line(self._line, request.session_id)
        await self._line.mark_read(request.chat_id)
        return session_pb2.MarkReadResponse()

    @translate_errors
    async def SetPresence(
        self, request: session_pb2.SetPresenceRequest, context: Context
    ) -> session_pb2.SetPresenceResponse:
        """Show a chat state in a chat, or online / offline."""
        _check_line(self._line, request.session_id)
        await self._line.set_presence(request.chat_id, request.presence)
        return session_pb2.SetPresenceResponse()

    async def StreamQr(
        self, request: session_pb2.StreamQrRequest, context: Context
    ) -> AsyncIterator[session_pb2.QrUpdate]:
        """The current QR, then each rotation; ends when the line is ready, stops or logs out."""
        try:
            _check_line(self._line, request.session_id)
        except WameshError as exc:
            await abort(context, exc)
        async for update in qr_updates(self._line):
            yield update

    async def StreamEvents(
        self, request: session_pb2.StreamEventsRequest, context: Context
    ) -> AsyncIterator[common_pb2.Event]:
        """Every event of the line (optionally only some types), until the worker stops."""
        try:
            _check_line(self._line, request.session_id)
        except WameshError as exc:
            await abort(context, exc)
        wanted = frozenset(request.types)
        async with self._line.hub.subscribe() as events:
            async for event in events:
                if not wanted or event.type in wanted:
                    yield event_to_proto(self._line.session_id, event)

    @translate_errors
    async def Logout(
        self, request: session_pb2.LogoutRequest, context: Context
    ) -> session_pb2.LogoutResponse:
        """Log out; auth state is purged."""
        _check_line(self._line, request.session_id)
        status = await self._line.logout()
        return session_pb2.LogoutResponse(status=STATUS_TO_PROTO[status])

    @translate_errors
    async def Restart(
        self, request: session_pb2.RestartRequest, context: Context
    ) -> session_pb2.RestartResponse:
        """Restart the engine (auth state is kept)."""
        _check_line(self._line, request.session_id)
        await self._line.restart()
        return session_pb2.RestartResponse(status=STATUS_TO_PROTO[self._line.status])

    @translate_errors
    async def RequestPairingCode(
        self, request: session_pb2.RequestPairingCodeRequest, context: Context
    ) -> session_pb2.RequestPairingCodeResponse:
        """A code to type on the phone instead of scanning the QR."""
        _check_line(self._line, request.session_id)
        pairing = await self._line.request_pairing_code(request.phone)
        return session_pb2.RequestPairingCodeResponse(
            code=pairing.code, phone=pairing.phone, expires_at=timestamp(pairing.expires_at)
        )


def send_request(request: session_pb2.SendMessageRequest) -> SendRequest:
    """A SendMessage request as the line's; media other than a stored id is refused."""
    media = request.media if request.HasField("media") else None
    if media is not None and media.WhichOneof("source") != "media_id":
        raise InvalidInput("the worker takes media by media_id only", "media")
    return SendRequest(
        to=request.to,
        text=request.text,
        client_message_id=request.client_message_id,
        media_kind=media.kind if media else "",
        media_id=media.media_id if media else "",
        reply_to=request.reply_to,
        mentions=tuple(request.mentions),
    )


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
        qr=qr.code if qr else "",
        qr_expires_at=timestamp(qr.expires_at) if qr else None,
        last_error=line.last_error or "",
        engine=engine,
        worker_address=address,
        started_at=timestamp(started_at),
    )


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


class SandboxServicer(session_pb2_grpc.SandboxServiceServicer):
    """The sandbox phone's controls; other engines answer FAILED_PRECONDITION."""

    def __init__(self, line: Line, sent_log: SentLog | None) -> None:
        self._line = line
        self._sent_log = sent_log

    def _sandbox(self, session_id: str) -> SandboxEngine:
        _check_line(self._line, session_id)
        engine = self._line.engine
        if not isinstance(engine, SandboxEngine):
            if engine is None:
                raise SessionNotReady(self._line.session_id, self._line.status)
            raise InvalidInput(f"the line's engine is {engine.kind}, not sandbox")
        return engine

    @translate_errors
    async def Scan(
        self, request: session_pb2.ScanRequest, context: Context
    ) -> session_pb2.ScanResponse:
        """Scan the current QR with the simulated phone and wait for ready."""
        me = self._sandbox(request.session_id).scan()
        await self._line.wait_for({"ready", *FINAL_STATUSES}, limit_s=10)
        return session_pb2.ScanResponse(status=STATUS_TO_PROTO[self._line.status], me=me)

    @translate_errors
    async def EnterPairingCode(
        self, request: session_pb2.EnterPairingCodeRequest, context: Context
    ) -> session_pb2.EnterPairingCodeResponse:
        """Type the pairing code on the simulated phone and wait for ready."""
        me = self._sandbox(request.session_id).enter_pairing_code(request.code)
        await self._line.wait_for({"ready", *FINAL_STATUSES}, limit_s=10)
        return session_pb2.EnterPairingCodeResponse(
            status=STATUS_TO_PROTO[self._line.status], me=me
        )

    @translate_errors
    async def InjectInbound(
        self, request: session_pb2.InjectInboundRequest, context: Context
    ) -> session_pb2.InjectInboundResponse:
        """A contact sends the line a message (its media given, or one of the line's stored)."""
        sandbox = self._sandbox(request.session_id)
        stored = request.media_id
        inbound = Inbound(
            sender=getattr(request, "from"),
            text=request.text,
            type=request.type or "text",
            media=request.media,
            source=await self._line.stored_media(stored) if stored else None,
            mimetype=request.mimetype,
            filename=request.filename,
            reply_to=request.reply_to,
            mentions=tuple(request.mentions),
            author=request.author,
        )
        message = sandbox.receive_message(inbound)
        return session_pb2.InjectInboundResponse(
            message=message_to_proto(message, self._line.session_id)
        )

    @translate_errors
    async def InjectReaction(
        self, request: session_pb2.InjectReactionRequest, context: Context
    ) -> session_pb2.InjectActionResponse:
        """A contact reacts to a message (an empty emoji removes its reaction)."""
        sandbox = self._sandbox(request.session_id)
        sandbox.receive_reaction(getattr(request, "from"), request.message_id, request.emoji)
        return session_pb2.InjectActionResponse()

    @translate_errors
    async def InjectEdit(
        self, request: session_pb2.InjectEditRequest, context: Context
    ) -> session_pb2.InjectActionResponse:
        """A contact edits one of its messages."""
        sandbox = self._sandbox(request.session_id)
        sandbox.receive_edit(getattr(request, "from"), request.message_id, request.text)
        return session_pb2.InjectActionResponse()

    @translate_errors
    async def InjectRevoke(
        self, request: session_pb2.InjectRevokeRequest, context: Context
    ) -> session_pb2.InjectActionResponse:
        """A contact deletes one of its messages for everyone."""
        sandbox = self._sandbox(request.session_id)
        sandbox.receive_revoke(getattr(request, "from"), request.message_id)
        return session_pb2.InjectActionResponse()

    @translate_errors
    async def MarkNotOnWhatsApp(
        self, request: session_pb2.MarkNotOnWhatsAppRequest, context: Context
    ) -> session_pb2.InjectActionResponse:
        """The simulated server knows a number as not on WhatsApp."""
        self._sandbox(request.session_id).mark_not_on_whatsapp(request.phone)
        return session_pb2.InjectActionResponse()

    @translate_errors
    async def CreateGroup(
        self, request: session_pb2.CreateGroupRequest, context: Context
    ) -> session_pb2.CreateGroupResponse:
        """The simulated server puts the line in a new group."""
        members = tuple(
            Participant(p.jid, p.is_admin, p.is_super_admin) for p in request.participants
        )
        group = self._sandbox(request.session_id).create_group(
            request.subject, members, request.description
        )
        return session_pb2.CreateGroupResponse(group_id=group)

    @translate_errors
    async def ChangeParticipants(
        self, request: session_pb2.ChangeParticipantsRequest, context: Context
    ) -> session_pb2.InjectActionResponse:
        """Members of a group change."""
        self._sandbox(request.session_id).change_participants(
            request.group_id, request.action, tuple(request.participants), request.author
        )
        return session_pb2.InjectActionResponse()

    @translate_errors
    async def InjectPresence(
        self, request: session_pb2.InjectPresenceRequest, context: Context
    ) -> session_pb2.InjectActionResponse:
        """A contact's presence in a chat."""
        self._sandbox(request.session_id).receive_presence(
            request.chat_id, request.jid, request.presence
        )
        return session_pb2.InjectActionResponse()

    @translate_errors
    async def InjectAck(
        self, request: session_pb2.InjectAckRequest, context: Context
    ) -> session_pb2.InjectAckResponse:
        """The recipient's phone reports an ack."""
        if request.ack not in ACK_FROM_PROTO:
            raise InvalidInput("ack must be set", "ack")
        self._sandbox(request.session_id).set_ack(
            request.message_id, Ack(ACK_FROM_PROTO[request.ack])
        )
        return session_pb2.InjectAckResponse()

    @translate_errors
    async def PhoneDisconnect(
        self, request: session_pb2.PhoneDisconnectRequest, context: Context
    ) -> session_pb2.PhoneDisconnectResponse:
        """The phone logs out or drops the connection."""
        self._sandbox(request.session_id).phone_disconnect(logout=request.logout)
        await self._line.wait_for(
            {"logged_out"} if request.logout else {"disconnected"}, limit_s=10
        )
        return session_pb2.PhoneDisconnectResponse(status=STATUS_TO_PROTO[self._line.status])

    @translate_errors
    async def ListSent(
        self, request: session_pb2.ListSentRequest, context: Context
    ) -> session_pb2.ListSentResponse:
        """Every message the simulated server received from this line (even while stopped)."""
        _check_line(self._line, request.session_id)
        if self._sent_log is None:
            raise InvalidInput("the line's engine is not sandbox")
        log = self._sent_log.reload()
        sid = self._line.session_id
        return session_pb2.ListSentResponse(
            messages=[message_to_proto(m, sid) for m in log.all()],
            actions=[
                session_pb2.SandboxAction(
                    kind=a.kind,
                    chat_id=a.chat_id,
                    message_id=a.message_id,
                    emoji=a.emoji,
                    text=a.text,
                    to=a.to,
                    new_message_id=a.new_message_id,
                    timestamp=timestamp(a.timestamp),
                    presence=a.presence,
                )
                for a in log.actions()
            ],
        )
