"""`wamesh session --id <uuid>`: run the worker of one line until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys

from wamesh.errors import ConfigError, LeaseHeld, SessionNotFound
from wamesh.settings import Settings, parse_uuid

HELP = "run the session worker of one line (--id or SESSION_ID), or of any line (--pool)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--id` or `--pool`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--id", dest="session_id", help="the line's id (default: $SESSION_ID)")
    group.add_argument(
        "--pool",
        action="store_true",
        help="serve whichever line wants a worker and has none, one at a time (pool mode)",
    )


def is_loopback(host: str) -> bool:
    """Whether `host` (WAMESH_GRPC_BIND_HOST) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_mesh_token(settings: Settings) -> None:
    """A worker serves anyone who reaches its port (SendMessage included) unless it checks the
    gateway's mesh token: refuse to start without one, except on loopback or in dev mode."""
    host = settings.grpc_bind_host
    if settings.mesh_token or settings.dev_mode or is_loopback(host):
        return
    raise ConfigError(
        f"WAMESH_MESH_TOKEN is required when WAMESH_GRPC_BIND_HOST={host} is not loopback: "
        "without it anyone who reaches the worker's port can send as the line"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run until stopped; the exit code says why it stopped."""
    require_mesh_token(settings)
    if args.pool:
        return asyncio.run(_pool_main(settings))
    raw = args.session_id or settings.session_id
    if not raw:
        raise ConfigError("no line given: pass --id <uuid> or set SESSION_ID")
    try:
        session_id = parse_uuid(raw)
    except ValueError:
        raise ConfigError(f"--id/SESSION_ID {raw!r} is not a UUID") from None
    try:
        return asyncio.run(_main(settings, session_id))
    except LeaseHeld as exc:
        print(f"wamesh session: refusing to start: {exc.message}", file=sys.stderr)
        return 5
    except SessionNotFound:
        print(
            f"wamesh session: no session (line) with id {session_id} in the database",
            file=sys.stderr,
        )
        return 4


async def _main(settings: Settings, session_id: str) -> int:
    from wamesh.process import install_stop_signals, no_collection_while_starting

    with no_collection_while_starting():
        from wamesh.db.pool import StoppedWaiting, open_role_pool
        from wamesh.outbox import open_kicker
        from wamesh.redis_client import SESSION_REDIS_CONNECTIONS, redis_client
        from wamesh.session.worker import running_worker, wait_for_exit

    stop = asyncio.Event()
    install_stop_signals(stop)
    # The whole budget (README, "Budgets"): one Redis connection shared by the lease and the
    # webhook kicks; PostgreSQL 1 connection idle, 2 under load.
    redis = redis_client(settings, SESSION_REDIS_CONNECTIONS, f"wamesh-session-{session_id[:8]}")
    try:
        async with (
            open_role_pool(
                settings, "session", name=f"session-{session_id[:8]}", patient=True, stop=stop
            ) as pool,
            open_kicker(settings, redis) as kicker,
            running_worker(settings, session_id, pool, redis, kicker) as worker,
        ):
            return await wait_for_exit(worker, stop)
    except StoppedWaiting:
        return 0  # stopped before PostgreSQL could be reached: nothing was started
    finally:
        await redis.aclose()


async def _pool_main(settings: Settings) -> int:
    from wamesh.process import install_stop_signals, no_collection_while_starting

    with no_collection_while_starting():
        from wamesh.db.pool import StoppedWaiting, open_role_pool
        from wamesh.outbox import open_kicker
        from wamesh.redis_client import SESSION_REDIS_CONNECTIONS, redis_client
        from wamesh.session.pool import run_pool

    stop = asyncio.Event()
    install_stop_signals(stop)
    # The same budget as a pinned worker: one Redis connection (lease, kicks, and the pool's
    # wake-up BLPOP while idle, when nothing else needs it).
    redis = redis_client(settings, SESSION_REDIS_CONNECTIONS, "wamesh-session-pool")
    try:
        async with (
            open_role_pool(
                settings, "session", name="session-pool", patient=True, stop=stop
            ) as pool,
            open_kicker(settings, redis) as kicker,
        ):
            return await run_pool(settings, pool, redis, kicker, stop)
    except StoppedWaiting:
        return 0
    finally:
        await redis.aclose()
