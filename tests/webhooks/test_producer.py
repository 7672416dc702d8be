"""The producer writes taskiq's task messages with plain Redis: taskiq must read them as calls of
the delivery task (the end-to-end tests then show the worker delivering them)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import redis
from taskiq.formatters.json_formatter import JSONFormatter

from tests.webhooks.conftest import settings_for
from wamesh.dev.servers import RedisServer
from wamesh.webhooks.producer import KICK_BATCH, running_producer, task_message
from wamesh.webhooks.stream import CONSUMER_GROUP, DELIVER_TASK


def test_taskiq_reads_a_kick_as_a_call_of_the_delivery_task() -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    message = JSONFormatter().loads(task_message(ids))
    assert message.task_name == DELIVER_TASK
    assert message.args == [ids]
    assert message.kwargs == {}
    assert len(message.task_id) == 32


async def test_start_creates_the_group_and_a_kick_is_one_message_per_batch(
    database_url: str, redis_url: str
) -> None:
    settings = settings_for(database_url, redis_url)
    ids = [str(uuid.uuid4()) for _ in range(KICK_BATCH * 2 + 1)]
    async with running_producer(settings) as producer:
        await producer.kick(ids)
        await producer.kick([])
    client = redis.Redis.from_url(redis_url)
    groups = client.xinfo_groups(settings.webhook_queue_name)
    assert [g["name"] for g in groups] == [CONSUMER_GROUP.encode()]
    entries = client.xrange(settings.webhook_queue_name)
    kicked = [JSONFormatter().loads(fields[b"data"]).args[0] for _, fields in entries]
    assert kicked == [ids[:KICK_BATCH], ids[KICK_BATCH : KICK_BATCH * 2], ids[KICK_BATCH * 2 :]]


def test_a_session_worker_kicks_without_importing_taskiq() -> None:
    """taskiq and pydantic cost a session worker about 20 MiB; one runs per line."""
    probe = (
        "import sys, wamesh.session.worker, wamesh.webhooks.producer; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'taskiq', 'taskiq_redis', 'pydantic'}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


async def test_a_kick_redis_refuses_is_sent_when_redis_answers(
    database_url: str, tmp_path: Path
) -> None:
    own = RedisServer(tmp_path / "redis", durable=False)
    await asyncio.to_thread(own.start)
    try:
        settings = settings_for(database_url, own.url)
        ids = [str(uuid.uuid4()) for _ in range(KICK_BATCH + 1)]
        async with running_producer(settings) as producer:
            await asyncio.to_thread(own.stop)
            await asyncio.wait_for(producer.kick(ids[:1]), 15)  # never raises, never blocks long
            await producer.kick(ids[1:])
            assert producer.unsent == len(ids)
            await asyncio.to_thread(own.start)
            async with asyncio.timeout(15):
                while producer.unsent:
                    await asyncio.sleep(0.05)
        entries = redis.Redis.from_url(own.url).xrange(settings.webhook_queue_name)
        kicked = [i for _, f in entries for i in JSONFormatter().loads(f[b"data"]).args[0]]
        assert kicked == ids  # all of them, in order
    finally:
        await asyncio.to_thread(own.stop)
