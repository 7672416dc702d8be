"""Secret rotation keeps the old secret valid for a grace period: a delivery signed during it
verifies with the old and with the new secret, using the official `standardwebhooks` package
(the spec's "Webhook headers" section: both signatures, space-delimited, in `webhook-signature`).
Attempt numbers go on across redeliveries."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import psycopg
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.gateway.conftest import API_KEY, gateway
from tests.support.workers import LINE_SECRET
from tests.webhooks.conftest import Receiver, add_events, settings_for, wait_statuses
from wamesh.db.pool import Pool
from wamesh.delivery_log import get_delivery, redeliver
from wamesh.gateway.app import RunningGateway
from wamesh.lines import rotate_secret
from wamesh.webhooks.producer import running_producer

__all__ = ["gateway"]  # the gateway tests' fixture


class TestRotation:
    """During the grace period both secrets verify; after it (or with none) only the new one."""

    async def test_a_delivery_during_rotation_verifies_with_old_and_new_secret(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
    ) -> None:
        line = line_for(receiver.url)
        start_worker()
        new_secret = await rotate_secret(pool, line, grace_s=3600)
        assert new_secret != LINE_SECRET
        (delivery,) = await add_events(pool, line, 1)
        await wait_statuses(database_url, [delivery], "delivered")
        (request,) = receiver.requests
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        old = Webhook(LINE_SECRET).verify(request.body, request.headers)
        new = Webhook(new_secret).verify(request.body, request.headers)
        assert old == new
        assert old["id"] == delivery

    async def test_without_grace_only_the_new_secret_verifies(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
    ) -> None:
        line = line_for(receiver.url)
        start_worker()
        new_secret = await rotate_secret(pool, line, grace_s=0)
        (delivery,) = await add_events(pool, line, 1)
        await wait_statuses(database_url, [delivery], "delivered")
        (request,) = receiver.requests
        assert len(request.headers["webhook-signature"].split(" ")) == 1
        Webhook(new_secret).verify(request.body, request.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(LINE_SECRET).verify(request.body, request.headers)

    async def test_the_grace_period_ends(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        start_worker: Callable[..., object],
        database_url: str,
    ) -> None:
        line = line_for(receiver.url)
        start_worker()
        await rotate_secret(pool, line, grace_s=3600)
        with psycopg.connect(database_url, autocommit=True) as conn:  # time passes
            conn.execute(
                "UPDATE wamesh.sessions SET webhook_secret_previous_until = now() - "
                "interval '1 s' WHERE id = %s",
                (line,),
            )
        (delivery,) = await add_events(pool, line, 1)
        await wait_statuses(database_url, [delivery], "delivered")
        with pytest.raises(WebhookVerificationError):
            Webhook(LINE_SECRET).verify(receiver.requests[0].body, receiver.requests[0].headers)


class TestAttemptNumbers:
    """A redelivery's attempts are numbered after the earlier ones, with a fresh budget."""

    async def test_numbers_go_on_across_redeliveries(
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
        start_worker(WEBHOOK_ATTEMPTS="2")
        (delivery,) = await add_events(pool, line, 1)
        await wait_statuses(database_url, [delivery], "failed")
        async with running_producer(settings_for(database_url, redis_url)) as producer:
            await redeliver(pool, producer, line, delivery)
            await wait_statuses(database_url, [delivery], "failed")
            receiver.default_status = 204
            await redeliver(pool, producer, line, delivery)
        await wait_statuses(database_url, [delivery], "delivered")
        found = await get_delivery(pool, line, delivery)
        assert [(a.attempt, a.status_code) for a in found.attempt_log] == [
            (1, 500),
            (2, 500),
            (3, 500),
            (4, 500),
            (5, 204),
        ]


class TestRotationOverRest:
    """The gateway's rotation route applies WEBHOOK_SECRET_ROTATION_GRACE_S (24 h by default)."""

    async def test_route_keeps_the_old_secret_for_the_grace_period(
        self, gateway: RunningGateway, line_for: Callable[[str], str], database_url: str
    ) -> None:
        line = line_for("http://127.0.0.1:9/hook")
        url = f"http://127.0.0.1:{gateway.http_port}/v1/sessions/{line}/webhook-secret"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, headers={"X-Api-Key": API_KEY}) as resp,
        ):
            assert resp.status == 200
            secret = (await resp.json())["webhook_secret"]
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT webhook_secret, webhook_secret_previous, "
                "extract(epoch FROM webhook_secret_previous_until - now())::float8 "
                "FROM wamesh.sessions WHERE id = %s",
                (line,),
            ).fetchone()
        assert row is not None
        assert row[0] == secret
        assert row[1] == LINE_SECRET
        assert 86_300 < row[2] <= 86_400
