"""The gateway process: the aiohttp REST app and the gRPC front, started and stopped together.

`running_gateway()` is used by `wamesh gateway` and by the tests. Start order: PostgreSQL pool
(WAMESH_DB_POOL_GATEWAY), Redis (WAMESH_REDIS_POOL, shared by the registry and the webhook
producer), router, HTTP, gRPC. Stop order is the reverse; gRPC and HTTP stop with
a grace period so in-flight calls finish.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from wamesh.constants import REQUEST_ID_HEADER
from wamesh.db.pool import open_role_pool
from wamesh.dependencies import DEPENDENCY_WAIT_S
from wamesh.errors import ConfigError
from wamesh.gateway import api, grpc_front
from wamesh.gateway.context import GATEWAY, Gateway
from wamesh.gateway.inbox import DevInbox
from wamesh.gateway.json_answers import end_with_newline
from wamesh.gateway.media import media_ctx
from wamesh.gateway.metrics import Metrics
from wamesh.gateway.problems import CLIENT_ERRORS_AS_WARNINGS, problem_middleware
from wamesh.gateway.rest import operations
from wamesh.gateway.rest.docs import swagger_static_dir
from wamesh.gateway.routing import WorkerRouter
from wamesh.gateway.security import api_key_middleware
from wamesh.ids import as_uuid
from wamesh.logs import line_id, request_id
from wamesh.outbox import open_kicker
from wamesh.redis_client import redis_client
from wamesh.registry import Registry
from wamesh.rpc.server import RunningServer
from wamesh.settings import Settings

_LOGGER = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
HTTP_GRACE_S = 5.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id (taken or made) and line id (a route's `{id}`, when a UUID) for the request's
    log lines, JSON access log line, metrics by route and status."""
    rid = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
    token = request_id.set(rid)
    line_token = line_id.set(as_uuid(request.match_info.get("id", "")))
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = rid
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = (
            request.match_info.route.resource.canonical
            if request.match_info.route.resource
            else "unmatched"
        )
        metrics = request.app[GATEWAY].metrics
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.latency.labels(route).observe(elapsed)
        _LOGGER.info(
            "%s %s %s",
            request.method,
            route,
            status,
            extra={"status": status, "ms": round(elapsed * 1000, 1)},
        )
        line_id.reset(line_token)
        request_id.reset(token)


def require_api_key(settings: Settings) -> str | None:
    """The API key; required outside dev mode so the gateway is never open by accident."""
    if settings.api_key is None and not settings.dev_mode:
        raise ConfigError(
            "WAMESH_API_KEY is required: clients must send it as X-Api-Key or Bearer token"
        )
    return settings.api_key


def build_app(gateway: Gateway) -> web.Application:
    """The REST app over started resources."""
    table = operations(dev_mode=gateway.settings.dev_mode)
    public = {(op.method, op.path) for op in table if op.public}
    checker = api_key_middleware(require_api_key(gateway.settings), public)
    app = web.Application(
        client_max_size=MAX_BODY_BYTES, middlewares=[observe, problem_middleware, checker]
    )
    app[GATEWAY] = gateway
    app.on_response_prepare.append(end_with_newline)
    logging.getLogger("aiohttp.server").addFilter(CLIENT_ERRORS_AS_WARNINGS)
    app.cleanup_ctx.append(media_ctx)
    api.register(app, table)
    app.router.add_static("/docs/static/", swagger_static_dir(), name="docs_static")
    return app


@dataclass
class RunningGateway:
    """A started gateway: its resources and bound ports."""

    gateway: Gateway
    http_port: int
    grpc: RunningServer

    @property
    def grpc_port(self) -> int:
        """The gRPC front's port."""
        return self.grpc.port


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Gateway]:
    """Pool, Redis, producer and router; closed in reverse order."""
    metrics = Metrics()
    async with AsyncExitStack() as stack:
        pool = await stack.enter_async_context(open_role_pool(settings, "gateway"))
        # A request waits at most this for a PostgreSQL connection: an outage is answered at
        # once as 503 dependency_unavailable (wamesh.dependencies), not after the pool's timeout.
        pool.timeout = DEPENDENCY_WAIT_S
        metrics.watch_database(pool)
        redis = redis_client(settings, settings.redis_pool, "wamesh-gateway")
        stack.push_async_callback(redis.aclose)
        kicker = await stack.enter_async_context(open_kicker(settings, redis))
        registry = Registry(redis, settings.lease_ttl_ms)
        router = WorkerRouter(registry, pool, settings.mesh_token, on_outcome=metrics.record_routed)
        stack.push_async_callback(router.close)
        inbox = DevInbox() if settings.dev_mode else None
        yield Gateway(settings, pool, redis, registry, router, metrics, kicker, inbox)


@asynccontextmanager
async def running_gateway(settings: Settings) -> AsyncIterator[RunningGateway]:
    """Start HTTP and gRPC on the configured ports (0 picks free ones)."""
    require_api_key(settings)
    async with open_resources(settings) as gateway, AsyncExitStack() as stack:
        runner = web.AppRunner(build_app(gateway), shutdown_timeout=HTTP_GRACE_S, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, settings.gateway_http_host, settings.gateway_http_port)
        await site.start()
        http_port = runner.addresses[0][1]
        grpc_server = await stack.enter_async_context(grpc_front.serve_front(gateway))
        _LOGGER.info(
            "gateway listening", extra={"http_port": http_port, "grpc_port": grpc_server.port}
        )
        yield RunningGateway(gateway, http_port, grpc_server)
