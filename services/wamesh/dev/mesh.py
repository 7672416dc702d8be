"""`wamesh dev`: the whole mesh on one machine.

Before anything starts: the state folder's lock (one run per folder) and free gateway ports
(`preflight`). Start order: private PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are
set; data and ports kept in the state folder), migrations, the gateway and the webhook worker
(child processes), the line supervisor (one session worker per line) once the gateway answers
`/readyz`, the terminal QR printer, then the banner. Stop order (Ctrl-C or SIGTERM) is the
reverse: session workers, webhook worker, gateway, then the private servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from wamesh.db.migrate import migrate
from wamesh.dev.children import Child, base_env, wamesh_command
from wamesh.dev.preflight import require_free, single_instance, wait_ready
from wamesh.dev.servers import PostgresServer, RedisServer
from wamesh.dev.state import DevState, load_state, save_state
from wamesh.dev.supervisor import LineSupervisor
from wamesh.dev.terminal import show_qr_codes
from wamesh.errors import ConfigError
from wamesh.process import install_stop_signals
from wamesh.settings import Settings


@dataclass(frozen=True)
class DevOptions:
    """`wamesh dev`'s command-line options."""

    state_dir: Path
    engine: str
    http_port: int
    grpc_port: int
    show_qr: bool = True


@dataclass(frozen=True)
class Backing:
    """Where PostgreSQL and Redis are."""

    database_url: str
    redis_url: str


@asynccontextmanager
async def backing_services(
    settings: Settings, options: DevOptions, state: DevState
) -> AsyncIterator[Backing]:
    """The given DATABASE_URL/REDIS_URL, or private servers kept under the state folder."""
    async with AsyncExitStack() as stack:
        database_url = settings.database_url
        if database_url is None:
            pg = PostgresServer(options.state_dir / "postgres" / "data", port=state.postgres_port)
            await asyncio.to_thread(pg.start)
            stack.callback(pg.stop)
            state.postgres_port, database_url = pg.port, pg.url
        redis_url = settings.redis_url if "REDIS_URL" in _explicit() else None
        if redis_url is None:
            rs = RedisServer(options.state_dir / "redis", port=state.redis_port)
            await asyncio.to_thread(rs.start)
            stack.callback(rs.stop)
            state.redis_port, redis_url = rs.port, rs.url
        save_state(options.state_dir, state)
        yield Backing(database_url, redis_url)


def _explicit() -> frozenset[str]:
    import os

    return frozenset(k for k in ("DATABASE_URL", "REDIS_URL") if os.environ.get(k))


def child_env(backing: Backing, state: DevState, options: DevOptions) -> dict[str, str]:
    """The environment every child process of the mesh shares."""
    root = options.state_dir.resolve()
    return base_env(
        {
            "DATABASE_URL": backing.database_url,
            "REDIS_URL": backing.redis_url,
            "WAMESH_API_KEY": state.api_key,
            "WAMESH_AUTH_KEY": state.auth_key,
            "WAMESH_MESH_TOKEN": state.mesh_token,
            "WAMESH_DEV": "true",
            "WEBHOOK_ALLOW_PRIVATE": "true",
            "WAMESH_DEFAULT_ENGINE": options.engine,
            "WAMESH_SANDBOX_DIR": str(root / "sandbox"),
            "WAMESH_PROFILE_DIR": str(root / "profiles"),
            "WAMESH_WHATSMEOW_DIR": str(root / "whatsmeow"),
            "WAMESH_GATEWAY_HTTP_PORT": str(options.http_port),
            "WAMESH_GATEWAY_GRPC_PORT": str(options.grpc_port),
            "WAMESH_LOG_FORMAT": "text",
        }
    )


def banner(options: DevOptions, state: DevState, backing: Backing) -> str:
    """What a newcomer needs to start: URLs, the key, a curl example."""
    base = f"http://127.0.0.1:{options.http_port}"
    return f"""
wamesh dev is up.
  dashboard : {base}/#key={state.api_key}
  API docs  : {base}/docs
  gRPC      : 127.0.0.1:{options.grpc_port}
  API key   : {state.api_key}
  database  : {backing.database_url}
  redis     : {backing.redis_url}
  logs      : {options.state_dir / "logs"}

Try it:
  curl -s -X POST {base}/v1/sessions -H 'X-Api-Key: {state.api_key}' \\
       -H 'Content-Type: application/json' -d '{{"name": "my first line"}}'

Ctrl-C stops everything.
"""


async def run_dev(settings: Settings, options: DevOptions) -> int:
    """Run the mesh until Ctrl-C or SIGTERM (one run per state folder; see preflight)."""
    with single_instance(options.state_dir):
        host = settings.gateway_http_host
        require_free(host, options.http_port, "the gateway's REST", "--http-port")
        require_free(
            settings.grpc_bind_host, options.grpc_port, "the gateway's gRPC", "--grpc-port"
        )
        return await _run(settings, options)


async def _run(settings: Settings, options: DevOptions) -> int:
    stop = asyncio.Event()
    install_stop_signals(stop)
    state = load_state(options.state_dir)
    logs = options.state_dir / "logs"
    async with backing_services(settings, options, state) as backing:
        await migrate(backing.database_url, settings.database_schema)
        env = child_env(backing, state, options)
        gateway = Child("gateway", wamesh_command("gateway"), env, logs)
        worker = Child("webhook-worker", wamesh_command("worker"), env, logs)
        lines = LineSupervisor(backing.database_url, env, logs, settings.database_schema)
        gateway.start()
        worker.start()
        try:
            await wait_ready(f"http://127.0.0.1:{options.http_port}", logs / "gateway.log")
        except ConfigError:
            await worker.stop()
            await gateway.stop()
            raise
        await lines.start()
        printer = (
            asyncio.create_task(show_qr_codes(backing.database_url, settings.database_schema))
            if options.show_qr
            else None
        )
        sys.stdout.write(banner(options, state, backing))
        sys.stdout.flush()
        await stop.wait()
        sys.stdout.write("\nstopping: session workers, webhook worker, gateway, servers\n")
        if printer is not None:
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer
        await lines.stop()
        await worker.stop()
        await gateway.stop()
    return 0


__all__ = ["Child", "DevOptions", "run_dev"]
