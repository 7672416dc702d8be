"""One way to run a gRPC server, shared by the session worker, the gateway, the CLI and the tests.

`serve()` binds (port 0 picks a free port; `grpc.so_reuseport=0`, because with SO_REUSEPORT two
processes were measured sharing one port), adds health checking and reflection (v1 and v1alpha)
for the given services, and stops with a grace period.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from wamesh.errors import Unavailable
from wamesh.rpc.reflection import enable_reflection

SERVER_OPTIONS = (("grpc.so_reuseport", 0),)


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
    enable_reflection([*services, health.SERVICE_NAME], server)
    await server.start()
    running = RunningServer(server, bound, health_servicer, services)
    await running.set_serving(True)
    try:
        yield running
    finally:
        await running.set_serving(False)
        await server.stop(grace_s)
