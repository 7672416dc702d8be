"""Credentials in gRPC metadata: the mesh token (gateway -> worker) and API keys (clients).

Compared in constant time. Health checking and reflection stay open so probes and tools work.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import grpc
import grpc.aio

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")
Metadata = Iterable[tuple[str, str | bytes]] | None
OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def tokens_match(given: str | None, expected: str) -> bool:
    """Constant-time comparison."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def metadata_value(metadata: Metadata, key: str) -> str | None:
    """The first value of `key` in invocation metadata."""
    for name, value in metadata or ():
        if name == key:
            return value.decode() if isinstance(value, bytes) else value
    return None


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Reject calls whose metadata does not carry an accepted credential."""

    def __init__(self, check: Callable[[Metadata], bool], what: str) -> None:
        self._check = check
        self._denied = _deny_handler(what)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Req, _Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Req, _Resp] | None:
        """Pass open services and authorised calls; deny the rest."""
        method = handler_call_details.method
        if method.startswith(OPEN_SERVICES) or self._check(
            handler_call_details.invocation_metadata
        ):
            return await continuation(handler_call_details)
        return self._denied


def _deny_handler(what: str) -> grpc.RpcMethodHandler[Any, Any]:
    async def deny(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"missing or wrong {what}")

    return grpc.unary_unary_rpc_method_handler(deny)
