"""The gateway's gRPC front: SessionService and SandboxService routed by `session_id`, plus the
admin services, on one port, with health checking, reflection and the API key in metadata
(`x-api-key: <key>` or `authorization: Bearer <key>`)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Any

import grpc.aio
from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict

from wamesh import delivery_log, lines
from wamesh.constants import (
    API_KEY_METADATA,
    AUTHORIZATION_METADATA,
    DESIRED_STARTED,
    DESIRED_STOPPED,
)
from wamesh.dependencies import DEPENDENCY_ERRORS
from wamesh.errors import WameshError
from wamesh.gateway import calls
from wamesh.gateway.context import Gateway
from wamesh.gateway.proto_render import delivery_to_proto, line_to_proto
from wamesh.gateway.security import key_accepted, presented_key
from wamesh.reminders import service as reminders
from wamesh.rpc.auth import Metadata, TokenInterceptor, metadata_value
from wamesh.rpc.errors import abort, abort_outage, translate_errors
from wamesh.rpc.server import RunningServer, serve
from wamesh.v1 import admin_pb2, admin_pb2_grpc, session_pb2

Context = grpc.aio.ServicerContext[Any, Any]
GRPC_GRACE_S = 5.0


class RoutedServices(grpc.GenericRpcHandler):
    """SessionService and SandboxService, every method relayed to the line's worker by one
    method-agnostic handler (`calls.relay` / `calls.stream`, found by name in the descriptors)."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway
        self._handlers = {m.path: self._handler(m) for m in calls.METHODS.values()}

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """The relay of a routed method (None: another service's)."""
        return self._handlers.get(handler_call_details.method)

    def _handler(self, method: calls.Method) -> grpc.RpcMethodHandler[Any, Any]:
        gw = self._gw
        if method.streaming:

            async def streaming(request: Any, context: Context) -> AsyncIterator[Any]:
                try:
                    async for item in calls.stream(gw.router, method.name, request):
                        yield item
                except WameshError as exc:
                    await abort(context, exc)
                except DEPENDENCY_ERRORS as exc:
                    await abort_outage(context, exc)

            return grpc.unary_stream_rpc_method_handler(
                streaming,
                request_deserializer=method.request.FromString,
                response_serializer=method.response.SerializeToString,
            )

        @translate_errors
        async def unary(_: object, request: Any, context: Context) -> Any:
            return await calls.relay(gw, method.name, request)

        return grpc.unary_unary_rpc_method_handler(
            functools.partial(unary, None),
            request_deserializer=method.request.FromString,
            response_serializer=method.response.SerializeToString,
        )


def _struct_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    return MessageToDict(value)


class SessionAdmin(admin_pb2_grpc.SessionAdminServiceServicer):
    """Lines: create, list, get, update, delete, rotate the secret."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway

    @translate_errors
    async def CreateSession(
        self, request: admin_pb2.CreateSessionRequest, context: Context
    ) -> admin_pb2.CreateSessionResponse:
        """Create a line; the secret is in this answer only."""
        new = lines.NewLine(
            name=request.name,
            engine=request.engine or "sandbox",
            webhook_url=request.webhook_url or None,
            webhook_secret=request.webhook_secret or None,
            webhook_events=list(request.webhook_events),
            metadata=_struct_dict(request.metadata),
        )
        line, secret = await lines.create_line(self._gw.pool, new)
        await self._gw.router.wake_pool()
        return admin_pb2.CreateSessionResponse(session=line_to_proto(line), webhook_secret=secret)

    @translate_errors
    async def ListSessions(
        self, request: admin_pb2.ListSessionsRequest, context: Context
    ) -> admin_pb2.ListSessionsResponse:
        """Every line."""
        found = await lines.list_lines(self._gw.pool)
        return admin_pb2.ListSessionsResponse(sessions=[line_to_proto(line) for line in found])

    @translate_errors
    async def GetSession(
        self, request: admin_pb2.GetSessionRequest, context: Context
    ) -> admin_pb2.Session:
        """One line with its worker's address."""
        line = await lines.get_line(self._gw.pool, request.session_id)
        [worker] = await self._gw.router.workers([line.id])
        return line_to_proto(line, worker.address if worker else "")

    @translate_errors
    async def UpdateSession(
        self, request: admin_pb2.UpdateSessionRequest, context: Context
    ) -> admin_pb2.Session:
        """Apply the fields that are set."""
        patch = lines.LinePatch(
            name=request.name if request.HasField("name") else None,
            webhook_url=request.webhook_url if request.HasField("webhook_url") else None,
            webhook_events=list(request.webhook_events) if request.replace_webhook_events else None,
            metadata=_struct_dict(request.metadata) if request.HasField("metadata") else None,
            webhook_enabled=request.webhook_enabled
            if request.HasField("webhook_enabled")
            else None,
        )
        return line_to_proto(await lines.update_line(self._gw.pool, request.session_id, patch))

    @translate_errors
    async def DeleteSession(
        self, request: admin_pb2.DeleteSessionRequest, context: Context
    ) -> admin_pb2.DeleteSessionResponse:
        """Delete a line."""
        line_id = lines.parse_line_id(request.session_id)
        await lines.delete_line(self._gw.pool, line_id)
        await self._gw.router.release(line_id, deleted=True)
        return admin_pb2.DeleteSessionResponse()

    @translate_errors
    async def StartSession(
        self, request: admin_pb2.StartSessionRequest, context: Context
    ) -> admin_pb2.Session:
        """The line wants a worker (pool mode takes it)."""
        line = await lines.set_desired_state(self._gw.pool, request.session_id, DESIRED_STARTED)
        await self._gw.router.wake_pool()
        return line_to_proto(line)

    @translate_errors
    async def StopSession(
        self, request: admin_pb2.StopSessionRequest, context: Context
    ) -> admin_pb2.Session:
        """The line wants no worker: its worker lets it go."""
        line = await lines.set_desired_state(self._gw.pool, request.session_id, DESIRED_STOPPED)
        await self._gw.router.release(line.id)
        return line_to_proto(line)

    @translate_errors
    async def RotateWebhookSecret(
        self, request: admin_pb2.RotateWebhookSecretRequest, context: Context
    ) -> admin_pb2.RotateWebhookSecretResponse:
        """A new secret, shown once."""
        secret = await lines.rotate_secret(self._gw.pool, request.session_id)
        return admin_pb2.RotateWebhookSecretResponse(webhook_secret=secret)


class DeliveryAdmin(admin_pb2_grpc.DeliveryAdminServiceServicer):
    """The webhook delivery log and replay."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway

    @translate_errors
    async def ListDeliveries(
        self, request: admin_pb2.ListDeliveriesRequest, context: Context
    ) -> admin_pb2.ListDeliveriesResponse:
        """A line's deliveries, newest first."""
        line = await lines.get_line(self._gw.pool, request.session_id)
        where = delivery_log.DeliveryFilter(
            status=request.status or None,
            since=request.since.ToDatetime(tzinfo=UTC) if request.HasField("since") else None,
            until=request.until.ToDatetime(tzinfo=UTC) if request.HasField("until") else None,
            limit=request.limit or 100,
        )
        found = await delivery_log.list_deliveries(self._gw.pool, line.id, where)
        return admin_pb2.ListDeliveriesResponse(deliveries=[delivery_to_proto(d) for d in found])

    @translate_errors
    async def GetDelivery(
        self, request: admin_pb2.GetDeliveryRequest, context: Context
    ) -> admin_pb2.Delivery:
        """One delivery with its attempts."""
        line = await lines.get_line(self._gw.pool, request.session_id)
        return delivery_to_proto(
            await delivery_log.get_delivery(self._gw.pool, line.id, request.delivery_id)
        )

    @translate_errors
    async def Redeliver(
        self, request: admin_pb2.RedeliverRequest, context: Context
    ) -> admin_pb2.Delivery:
        """Deliver one again."""
        line = await lines.get_line(self._gw.pool, request.session_id)
        await delivery_log.redeliver(self._gw.pool, self._gw.kicker, line.id, request.delivery_id)
        return delivery_to_proto(
            await delivery_log.get_delivery(self._gw.pool, line.id, request.delivery_id)
        )

    @translate_errors
    async def RedeliverFailed(
        self, request: admin_pb2.RedeliverFailedRequest, context: Context
    ) -> admin_pb2.RedeliverFailedResponse:
        """Deliver again every failed delivery since a time."""
        line = await lines.get_line(self._gw.pool, request.session_id)
        since = request.since.ToDatetime(tzinfo=UTC)
        count = await delivery_log.redeliver_failed(self._gw.pool, self._gw.kicker, line.id, since)
        return admin_pb2.RedeliverFailedResponse(count=count)


class ReminderAdmin(admin_pb2_grpc.ReminderAdminServiceServicer):
    """Reminders of a line."""

    def __init__(self, gateway: Gateway) -> None:
        self._pool = gateway.pool
        self._router = gateway.router

    @translate_errors
    async def CreateReminder(
        self, request: admin_pb2.CreateReminderRequest, context: Context
    ) -> admin_pb2.Reminder:
        """Schedule a message."""
        repeat = None
        if request.HasField("repeat") and request.repeat.every_seconds:
            until = (
                request.repeat.until.ToDatetime(tzinfo=UTC)
                if request.repeat.HasField("until")
                else None
            )
            repeat = reminders.Repeat(
                request.repeat.every_seconds, until, request.repeat.count or None
            )
        new = reminders.NewReminder(
            recipient=request.recipient,
            text=request.text,
            due_at=request.due_at.ToDatetime(tzinfo=UTC) if request.HasField("due_at") else None,
            delay_s=request.delay_seconds if request.HasField("delay_seconds") else None,
            repeat=repeat,
            client_key=request.client_key or None,
        )
        reminder, _ = await reminders.create_reminder(self._pool, request.session_id, new)
        await self._router.wake_reminders(reminder.session_id)
        return reminder.to_proto()

    @translate_errors
    async def ListReminders(
        self, request: admin_pb2.ListRemindersRequest, context: Context
    ) -> admin_pb2.ListRemindersResponse:
        """A line's reminders in due order."""
        where = reminders.ReminderFilter(
            status=request.status or None,
            due_from=request.due_from.ToDatetime(tzinfo=UTC)
            if request.HasField("due_from")
            else None,
            due_to=request.due_to.ToDatetime(tzinfo=UTC) if request.HasField("due_to") else None,
            limit=request.limit or 100,
        )
        found = await reminders.list_reminders(self._pool, request.session_id, where)
        return admin_pb2.ListRemindersResponse(reminders=[r.to_proto() for r in found])

    @translate_errors
    async def GetReminder(
        self, request: admin_pb2.GetReminderRequest, context: Context
    ) -> admin_pb2.Reminder:
        """One reminder."""
        return (
            await reminders.get_reminder(self._pool, request.session_id, request.reminder_id)
        ).to_proto()

    @translate_errors
    async def UpdateReminder(
        self, request: admin_pb2.UpdateReminderRequest, context: Context
    ) -> admin_pb2.Reminder:
        """Edit a pending reminder."""
        patch = reminders.ReminderPatch(
            recipient=request.recipient if request.HasField("recipient") else None,
            text=request.text if request.HasField("text") else None,
            due_at=request.due_at.ToDatetime(tzinfo=UTC) if request.HasField("due_at") else None,
        )
        found = await reminders.update_reminder(
            self._pool, request.session_id, request.reminder_id, patch
        )
        await self._router.wake_reminders(found.session_id)
        return found.to_proto()

    @translate_errors
    async def CancelReminder(
        self, request: admin_pb2.CancelReminderRequest, context: Context
    ) -> admin_pb2.Reminder:
        """Cancel a pending reminder."""
        return (
            await reminders.cancel_reminder(self._pool, request.session_id, request.reminder_id)
        ).to_proto()


def _api_key_interceptors(expected: str | None) -> Sequence[grpc.aio.ServerInterceptor]:
    if expected is None:
        return ()

    def check(metadata: Metadata) -> bool:
        given = presented_key(
            metadata_value(metadata, API_KEY_METADATA),
            metadata_value(metadata, AUTHORIZATION_METADATA),
        )
        return key_accepted(given, expected)

    return (TokenInterceptor(check, "API key (x-api-key or authorization: Bearer)"),)


@asynccontextmanager
async def serve_front(gateway: Gateway) -> AsyncIterator[RunningServer]:
    """The gRPC front on WAMESH_GATEWAY_GRPC_PORT."""

    def register(server: grpc.aio.Server, port: int) -> list[str]:
        del port
        server.add_generic_rpc_handlers((RoutedServices(gateway),))
        admin_pb2_grpc.add_SessionAdminServiceServicer_to_server(SessionAdmin(gateway), server)
        admin_pb2_grpc.add_DeliveryAdminServiceServicer_to_server(DeliveryAdmin(gateway), server)
        admin_pb2_grpc.add_ReminderAdminServiceServicer_to_server(ReminderAdmin(gateway), server)
        services = [
            *session_pb2.DESCRIPTOR.services_by_name.values(),
            *admin_pb2.DESCRIPTOR.services_by_name.values(),
        ]
        return [d.full_name for d in services]

    settings = gateway.settings
    async with serve(
        settings.grpc_bind_host,
        settings.gateway_grpc_port,
        register,
        interceptors=_api_key_interceptors(settings.api_key),
        grace_s=GRPC_GRACE_S,
    ) as running:
        yield running
