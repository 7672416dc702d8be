"""The webhook stream's contract, shared by the producer and the worker's consumer (both plain
Redis, in taskiq-redis's stream format): its task name, consumer group and limits."""

from __future__ import annotations

DELIVER_TASK = "wamesh.webhooks.deliver"
CONSUMER_GROUP = "wamesh-webhooks"
STREAM_MAXLEN = 200_000
REDIS_CONNECT_TIMEOUT_S = 5.0
# Lines whose rows wait in a live worker's memory (a sorted set, score = the hold's end in Unix
# seconds); the reconciler leaves their pending rows alone until the hold lapses.
HOLDS_SUFFIX = ":held"
HOLD_TTL_S = 4.0
HOLD_REFRESH_S = 1.0


HOLDERS_SUFFIX = ":holders"


def holds_key(queue_name: str) -> str:
    """The sorted set of held lines beside the stream `queue_name`."""
    return queue_name + HOLDS_SUFFIX


def holders_key(queue_name: str) -> str:
    """The sorted set of live webhook workers' tokens (score: when each lapses)."""
    return queue_name + HOLDERS_SUFFIX
