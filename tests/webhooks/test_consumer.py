"""The worker's reads of the stream (`consumer`) on a real Redis: kicks arrive as batches, every
message is acked once its ids are sorted, a failed sort leaves it pending, and `--processes`
picks its count from the flag, the variable or the CPUs."""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from pathlib import Path

import pytest
import redis.asyncio

from wamesh.settings import Settings
from wamesh.webhooks.cli import process_count
from wamesh.webhooks.consumer import StreamConsumer, Submit, delivery_ids
from wamesh.webhooks.processes import DEFAULT_MAX, _cgroup_quota, default_count, usable_cpus
from wamesh.webhooks.producer import KICK_BATCH, running_producer, task_message
from wamesh.webhooks.stream import CONSUMER_GROUP


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


class TestMessages:
    """A task message gives the ids the producer kicked; anything else gives none."""

    def test_ids_of_a_task_message(self) -> None:
        ids = _ids(3)
        assert delivery_ids(task_message(ids)) == ids

    @pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"args": "x"}', b'{"args": []}'])
    def test_junk_gives_no_ids(self, data: bytes) -> None:
        assert delivery_ids(data) == []


async def _consume(settings: Settings, submit: Submit, until: asyncio.Event) -> StreamConsumer:
    client = redis.asyncio.Redis.from_url(settings.redis_url)
    consumer = StreamConsumer(settings, client, submit)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop, _nothing))
    await asyncio.wait_for(until.wait(), 10)
    stop.set()
    task.cancel()
    await consumer.leave()
    await client.aclose()
    return consumer


async def _nothing() -> None:
    return None


class TestReading:
    """Everything kicked while a batch is sorted comes in the next read; sorted messages are
    acked, unsorted ones stay pending for another consumer."""

    async def test_kicks_arrive_in_few_reads_and_are_acked(self, redis_url: str) -> None:
        settings = Settings.from_env({"REDIS_URL": redis_url})
        kicked = _ids(KICK_BATCH * 4)
        seen: list[str] = []
        done = asyncio.Event()

        async def submit(ids: list[str]) -> None:
            seen.extend(ids)
            if len(seen) >= len(kicked):
                done.set()

        async with running_producer(settings) as producer:
            for start in range(0, len(kicked), KICK_BATCH):
                await producer.kick(kicked[start : start + KICK_BATCH])
            consumer = await _consume(settings, submit, done)
        assert seen == kicked
        assert consumer.reads <= 2  # the four messages were waiting: one read took them all
        client = redis.asyncio.Redis.from_url(redis_url)
        group = (await client.xinfo_groups(settings.webhook_queue_name))[0]
        await client.aclose()
        assert group["pending"] == 0
        assert group["consumers"] == 0  # it left the group on its way out

    async def test_a_failed_sort_leaves_the_message_pending(self, redis_url: str) -> None:
        settings = Settings.from_env({"REDIS_URL": redis_url})
        tried = asyncio.Event()

        async def submit(ids: list[str]) -> None:
            tried.set()
            raise RuntimeError("the claim loop ended")

        async with running_producer(settings) as producer:
            await producer.kick(_ids(2))
            client = redis.asyncio.Redis.from_url(redis_url)
            consumer = StreamConsumer(settings, client, submit)
            stop = asyncio.Event()
            task = asyncio.create_task(consumer.run(stop, _nothing))
            await asyncio.wait_for(tried.wait(), 10)
            await asyncio.sleep(0.1)
            pending = await client.xpending(settings.webhook_queue_name, CONSUMER_GROUP)
            stop.set()
            task.cancel()
            await client.aclose()
        assert pending["pending"] == 1


class TestProcessCount:
    """--processes, else WEBHOOK_PROCESSES, else one per CPU less one (1 to DEFAULT_MAX)."""

    def test_flag_then_variable_then_cpus(self) -> None:
        settings = Settings.from_env({"WEBHOOK_PROCESSES": "3"})
        assert process_count(argparse.Namespace(processes=2), settings) == 2
        assert process_count(argparse.Namespace(processes=None), settings) == 3
        auto = Settings.from_env({})
        assert process_count(argparse.Namespace(processes=None), auto) == default_count()

    def test_default_leaves_a_cpu_for_the_rest(self) -> None:
        assert usable_cpus() <= len(os.sched_getaffinity(0))
        assert default_count() == max(1, min(DEFAULT_MAX, usable_cpus() - 1))

    @pytest.mark.parametrize(
        ("cpu_max", "cpus"), [("max 100000", None), ("150000 100000", 1.5), ("junk", None)]
    )
    def test_a_cgroup_quota_counts_as_cpus(self, tmp_path: Path, cpu_max: str, cpus: float) -> None:
        path = tmp_path / "cpu.max"
        path.write_text(cpu_max + "\n")
        assert _cgroup_quota(path) == cpus
