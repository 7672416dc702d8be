"""The lease fence on a worker's gRPC server: a command reaches the engine only after Redis has
just confirmed that this worker holds the line's lease (`Lease.confirm`, see wamesh.registry).

Fenced: every `SessionService` call that acts on WhatsApp (sends, reactions, edits, logout,
restart, contact and group look-ups...). Open: what only reads the worker's own state
(`GetStatus`, `StreamQr`, `StreamEvents`), `SandboxService` (it plays WhatsApp's side, not the
line's), `MeshService.WakeReminders` (the reminder runner is paused while the lease is not held)
and health/reflection. A refused call answers UNAVAILABLE (while Redis cannot be
reached: `dependency_unavailable` naming redis; once another worker holds the line: `lease_lost`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio

from wamesh.errors import Unavailable, WameshError
from wamesh.registry import Lease
from wamesh.rpc.errors import abort

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")
FENCED_SERVICE = "/wamesh.v1.SessionService/"
OPEN_METHODS = frozenset(
    FENCED_SERVICE + name for name in ("GetStatus", "StreamQr", "StreamEvents")
)


class LeaseFence(grpc.aio.ServerInterceptor):
    """Refuse fenced calls unless the lease is confirmed; `lease` is set once it is claimed."""

    def __init__(self) -> None:
        self.lease: Lease | None = None

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Req, _Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Req, _Resp] | None:
        """Confirm the lease before a fenced call; answer its refusal instead of the call."""
        method = handler_call_details.method
        if not method.startswith(FENCED_SERVICE) or method in OPEN_METHODS:
            return await continuation(handler_call_details)
        try:
            if self.lease is None:
                raise Unavailable("the worker has not taken its line's lease yet; retry")
            await self.lease.confirm()
        except WameshError as exc:
            return _refusal(exc)
        return await continuation(handler_call_details)


def _refusal(exc: WameshError) -> grpc.RpcMethodHandler[Any, Any]:
    async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await abort(context, exc)

    return grpc.unary_unary_rpc_method_handler(refuse)
