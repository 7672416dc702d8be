"""The Redis client of each process, bounded by its role's budget.

A session worker holds exactly one Redis connection, shared by its lease and its webhook kicks
(SESSION_REDIS_CONNECTIONS); the gateway and a webhook worker's stream consumer hold at most
WAMESH_REDIS_POOL. The pool blocks a caller while every connection is busy instead of opening
another, so the budget holds under any load.

No health-check PING (redis-py's `health_check_interval`): our connections retry nothing, so a
PING that fails raises the same error the command itself would have met, one round trip
earlier. It cost an idle line a second round trip on every lease refresh (README, "Budgets").
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from wamesh.settings import Settings

SESSION_REDIS_CONNECTIONS = 1
CONNECT_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 10.0
WAIT_FOR_CONNECTION_S = 20.0


def redis_client(settings: Settings, max_connections: int, name: str | None = None) -> Redis:
    """A client of REDIS_URL that never holds more than `max_connections` connections, named
    `name` in CLIENT LIST (which role holds which connections)."""
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=max_connections,
        client_name=name,
        timeout=WAIT_FOR_CONNECTION_S,
        # A dead Redis must surface as an error, never as a call that waits forever.
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=COMMAND_TIMEOUT_S,
    )
    return Redis.from_pool(pool)
