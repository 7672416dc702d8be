"""Delivery: signed per Standard Webhooks, retried with back-off, dead-lettered, replayable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import psycopg
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.workers import LINE_SECRET
from tests.webhooks.conftest import Receiver, add_events, settings_for, statuses, wait_statuses
from wamesh.db.pool import Pool
from wamesh.delivery_log import get_delivery, redeliver
from wamesh.webhooks.producer import running_producer


def _attempt_codes(database_url: str, delivery_id: str) -> list[int | None]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT status_code FROM wamesh.webhook_attempts WHERE delivery_id = %s ORDER BY id",
            (delivery_id,),
        ).fetchall()
    return [r[0] for r in rows]


class TestSigning:
    """Every delivery verifies with the reference library; a tampered one does not."""

    async def test_delivery_verifies_and_tampering_is_detected(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
    ) -> None:
        line = line_for(receiver.url)
        start_worker()
        ids = await add_events(pool, line, 3)
        await receiver.wait_for(3)
        hook = Webhook(LINE_SECRET)
        for request in receiver.requests:
            payload = hook.verify(request.body, request.headers)
            assert set(payload) == {"id", "type", "session_id", "timestamp", "data"}
            assert request.headers["webhook-id"] == payload["id"]
            with pytest.raises(WebhookVerificationError):
                hook.verify(request.body.replace(b'"n"', b'"m"'), request.headers)
        assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(ids)
        await wait_statuses(database_url, ids, "delivered")


class TestRetries:
    """Failures retry with back-off; the last failure dead-letters the row; replay delivers it."""

    async def test_fails_twice_then_delivered_on_the_third_attempt(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
    ) -> None:
        receiver.script = [500, 503]
        line = line_for(receiver.url)
        start_worker()
        (delivery,) = await add_events(pool, line, 1)
        await wait_statuses(database_url, [delivery], "delivered")
        assert _attempt_codes(database_url, delivery) == [500, 503, 200]
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
        gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
        assert gaps[0] >= 0.04
        assert gaps[1] >= 0.09

    async def test_always_failing_is_dead_lettered_then_redelivered(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
        redis_url: str,
    ) -> None:
        receiver.default_status = 500
        line = line_for(receiver.url)
        start_worker(WEBHOOK_ATTEMPTS="3")
        (delivery,) = await add_events(pool, line, 1)
        await wait_statuses(database_url, [delivery], "failed")
        assert _attempt_codes(database_url, delivery) == [500, 500, 500]
        receiver.default_status = 204
        async with running_producer(settings_for(database_url, redis_url)) as producer:
            await redeliver(pool, producer, line, delivery)
        await wait_statuses(database_url, [delivery], "delivered")
        found = await get_delivery(pool, line, delivery)
        assert [a.status_code for a in found.attempt_log] == [500, 500, 500, 204]

    async def test_a_4xx_gives_up_at_once_but_429_retries_after_retry_after(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
    ) -> None:
        receiver.script = [429, 400]
        receiver.extra_headers = {"Retry-After": "1"}
        line = line_for(receiver.url)
        start_worker(WEBHOOK_MAX_BACKOFF_MS="2000")
        (delivery,) = await add_events(pool, line, 1)
        await wait_statuses(database_url, [delivery], "failed")
        assert _attempt_codes(database_url, delivery) == [429, 400]
        assert receiver.requests[1].at - receiver.requests[0].at >= 0.95

    async def test_410_disables_the_lines_webhook(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
    ) -> None:
        receiver.default_status = 410
        line = line_for(receiver.url)
        start_worker()
        (delivery,) = await add_events(pool, line, 1)
        await wait_statuses(database_url, [delivery], "failed")
        # The line's webhook is disabled right after the outcome is written, not in its statement.
        async with asyncio.timeout(10):
            while _webhook_enabled(database_url, line):
                await asyncio.sleep(0.05)


class TestDuplicates:
    """A duplicate kick of a delivered or claimed row does nothing."""

    async def test_kicking_a_delivered_row_again_sends_nothing(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
        redis_url: str,
    ) -> None:
        line = line_for(receiver.url)
        start_worker()
        ids = await add_events(pool, line, 2)
        await wait_statuses(database_url, ids, "delivered")
        async with running_producer(settings_for(database_url, redis_url)) as producer:
            await producer.kick(ids * 3)
        await asyncio.sleep(1.0)
        assert len(receiver.requests) == 2


class TestFairness:
    """One line's slow endpoint cannot take every slot."""

    async def test_per_line_cap_and_other_lines_proceed(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
    ) -> None:
        receiver.hold = asyncio.Event()
        slow = line_for(receiver.url)
        start_worker(WEBHOOK_PER_SESSION_INFLIGHT="2")
        slow_ids = await add_events(pool, slow, 8)
        await receiver.wait_for(2)
        await asyncio.sleep(0.5)
        assert receiver.max_in_flight == 2
        receiver.hold.set()
        await wait_statuses(database_url, slow_ids, "delivered")
        assert receiver.max_in_flight == 2
        assert statuses(database_url, slow_ids)


class TestPayload:
    """The body is the stored envelope, byte for byte what was signed."""

    async def test_body_is_the_envelope(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
    ) -> None:
        line = line_for(receiver.url)
        start_worker()
        (delivery,) = await add_events(pool, line, 1, kind="session.status")
        await receiver.wait_for(1)
        body = json.loads(receiver.requests[0].body)
        assert (body["id"], body["type"], body["session_id"]) == (delivery, "session.status", line)
        assert receiver.requests[0].headers["content-type"] == "application/json"


def _webhook_enabled(database_url: str, line: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT webhook_enabled FROM wamesh.sessions WHERE id = %s", (line,)
        ).fetchone()
    assert row is not None
    return bool(row[0])
