"""The taskiq broker on the Redis stream WEBHOOK_QUEUE_NAME, from which the worker takes kicks.

RedisStreamBroker is the only taskiq-redis broker that redelivers after a crash (consumer group,
XACK, XAUTOCLAIM). Its stream is bounded (`maxlen`, approximate); every message is one attempt of
at most WEBHOOK_TIMEOUT_MS, so the idle timeout after which a stranded message is reclaimed is set
well above that. The consumer group is created at startup, before anything is kicked (a group
created later would skip earlier messages).
"""

from __future__ import annotations

from taskiq_redis import RedisStreamBroker

from wamesh.settings import Settings
from wamesh.webhooks.stream import CONSUMER_GROUP, REDIS_CONNECT_TIMEOUT_S, STREAM_MAXLEN

XREAD_COUNT = 10
XREAD_BLOCK_MS = 2_000


def idle_timeout_ms(settings: Settings) -> int:
    """Reclaim a stranded message only after any attempt would surely have ended."""
    return max(60_000, settings.webhook_timeout_ms * 3 + 30_000)


def make_broker(settings: Settings) -> RedisStreamBroker:
    """A broker for the webhook stream."""
    return RedisStreamBroker(
        url=settings.redis_url,
        queue_name=settings.webhook_queue_name,
        consumer_group_name=CONSUMER_GROUP,
        idle_timeout=idle_timeout_ms(settings),
        xread_block=XREAD_BLOCK_MS,
        xread_count=XREAD_COUNT,
        maxlen=STREAM_MAXLEN,
        approximate=True,
        max_connection_pool_size=settings.redis_pool,  # README, "Budgets"
        # A dead Redis must surface as an error, never as a call that waits forever.
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
        socket_timeout=XREAD_BLOCK_MS / 1000 + REDIS_CONNECT_TIMEOUT_S,
        health_check_interval=REDIS_CONNECT_TIMEOUT_S,
        client_name="wamesh-webhooks",
    )
