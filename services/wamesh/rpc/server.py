"""One way to run a gRPC server, shared by the session worker, the gateway, the CLI and the tests.

`serve()` binds (port 0 picks a free port; `grpc.so_reuseport=0`, because with SO_REUSEPORT two
processes were measured sharing one port), adds health checking and reflection (v1 and v1alpha)
for the given services, and stops with a grace period. Reflection's modules (grpc_reflection,
protobuf's descriptor_pb2) are imported on the first reflection call, not before a server starts:
a session worker serves many more calls than it is asked to describe itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from wamesh.errors import Unavailable

SERVER_OPTIONS = (("grpc.so_reuseport", 0),)
REFLECTION_PREFIX = "/grpc.reflection."


class _Handlers:
    """Collects what `enable_reflection` adds to a server, for `_LazyReflection` to answer with."""

    def __init__(self) -> None:
        self.generic: list[grpc.GenericRpcHandler] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        """The same methods are among the generic handlers, which answer them too."""


class _LazyReflection(grpc.GenericRpcHandler):
    """Reflection (wamesh.rpc.reflection) for `names`, set up on the first reflection call."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = list(names)
        self._handlers: list[grpc.GenericRpcHandler] | None = None

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method: str = handler_call_details.method
        if not method.startswith(REFLECTION_PREFIX):
            return None
        if self._handlers is None:
            from wamesh.rpc.reflection import enable_reflection

            collected = _Handlers()
            enable_reflection(self._names, cast(grpc.aio.Server, collected))
            self._handlers = collected.generic
        for handler in self._handlers:
            found = handler.service(handler_call_details)
            if found is not None:
                return found
        return None


@dataclass
class RunningServer:
    """A started server, its bound port and its health service."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    services: Sequence[str]

    async def set_serving(self, serving: bool) -> None:
        """Report SERVING / NOT_SERVING for the server and each service."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self.services):
            await self.health.set(name, status)


@asynccontextmanager
async def serve(
    host: str,
    port: int,
    register: Callable[[grpc.aio.Server, int], Sequence[str]],
    *,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    grace_s: float = 5.0,
) -> AsyncIterator[RunningServer]:
    """Start a server whose services `register(server, bound_port)` adds, returning their names."""
    server = grpc.aio.server(interceptors=list(interceptors), options=SERVER_OPTIONS)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    bound = server.add_insecure_port(address)
    if bound == 0:
        raise Unavailable(f"cannot listen on {address} for gRPC")
    services = list(register(server, bound))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_generic_rpc_handlers((_LazyReflection([*services, health.SERVICE_NAME]),))
    await server.start()
    running = RunningServer(server, bound, health_servicer, services)
    await running.set_serving(True)
    try:
        yield running
    finally:
        await running.set_serving(False)
        await server.stop(grace_s)
