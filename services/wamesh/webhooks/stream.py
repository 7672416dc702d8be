"""The webhook stream's contract, shared by the producer (plain Redis) and the worker (taskiq):
its task name, consumer group and limits. Nothing here imports taskiq."""

from __future__ import annotations

DELIVER_TASK = "wamesh.webhooks.deliver"
CONSUMER_GROUP = "wamesh-webhooks"
STREAM_MAXLEN = 200_000
REDIS_CONNECT_TIMEOUT_S = 5.0
