"""The sandbox phone's gRPC controls (`SandboxService`): scan, pairing code, inbound messages of
every kind, reactions, edits, revokes, poll votes, acks, groups, presence, disconnects, and the
simulated server's record of what the line sent. Only lines whose engine is `sandbox` answer;
others answer INVALID_ARGUMENT (`invalid_value` naming the engine).
"""

from __future__ import annotations

from typing import Any

import grpc

from wamesh.engines.base import Ack
from wamesh.engines.rich import Participant
from wamesh.engines.sandbox import Inbound, SandboxEngine, SentLog
from wamesh.errors import InvalidInput, SessionNotReady
from wamesh.rpc.errors import translate_errors
from wamesh.session.events import (
    ACK_FROM_PROTO,
    STATUS_TO_PROTO,
    message_to_proto,
    timestamp,
)
from wamesh.session.line import FINAL_STATUSES, Line
from wamesh.session.servicer import check_line
from wamesh.structured import contacts_from_proto, location_from_proto, poll_from_proto
from wamesh.v1 import session_pb2, session_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class SandboxServicer(session_pb2_grpc.SandboxServiceServicer):
    """The sandbox phone's controls; other engines answer FAILED_PRECONDITION."""

    def __init__(self, line: Line, sent_log: SentLog | None) -> None:
        self._line = line
        self._sent_log = sent_log

    def _sandbox(self, session_id: str) -> SandboxEngine:
        check_line(self._line, session_id)
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
            location=location_from_proto(request.location)
            if request.HasField("location")
            else None,
            contacts=contacts_from_proto(request.contacts),
            poll=poll_from_proto(request.poll) if request.HasField("poll") else None,
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
    async def InjectPollVote(
        self, request: session_pb2.InjectPollVoteRequest, context: Context
    ) -> session_pb2.InjectActionResponse:
        """A contact votes on a poll (its whole selection; empty withdraws the vote)."""
        sandbox = self._sandbox(request.session_id)
        sandbox.receive_poll_vote(
            getattr(request, "from"), request.chat_id, request.message_id, tuple(request.selected)
        )
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
        check_line(self._line, request.session_id)
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
