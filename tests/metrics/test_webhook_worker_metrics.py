"""The webhook worker's `/metrics` (WAMESH_METRICS_PORT) counts real attempts against a real
receiver: outcomes, latency and each endpoint's circuit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.metrics.conftest import scrape, value
from tests.webhooks.conftest import Receiver, add_events, settings_for, wait_statuses
from wamesh.db.pool import Pool
from wamesh.webhooks.worker import run_worker


class TestWebhookWorkerMetrics:
    """Attempts, their latency and circuits show as they happened."""

    async def test_a_retry_then_a_delivery_and_a_closed_circuit(
        self,
        pool: Pool,
        receiver: Receiver,
        line_for: Callable[[str], str],
        database_url: str,
        redis_url: str,
    ) -> None:
        receiver.script = [503]
        line = line_for(receiver.url + "?token=not-for-metrics")
        ports: list[int] = []
        stop = asyncio.Event()
        settings = settings_for(database_url, redis_url, WAMESH_METRICS_PORT="0")
        task = asyncio.create_task(run_worker(settings, stop, on_metrics=ports.append))
        try:
            (delivery,) = await add_events(pool, line, 1)
            await wait_statuses(database_url, [delivery], "delivered")
            samples = await scrape(f"http://127.0.0.1:{ports[0]}/metrics")
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
        assert value(samples, "wamesh_webhook_attempts_total", outcome="retry") == 1
        assert value(samples, "wamesh_webhook_attempts_total", outcome="delivered") == 1
        assert value(samples, "wamesh_webhook_attempts_total", outcome="give_up") == 0
        assert value(samples, "wamesh_webhook_attempt_duration_seconds_count") == 2
        assert 0 < value(samples, "wamesh_webhook_attempt_duration_seconds_sum") < 6
        # one delivery, after one retry's back-off (at least 50 ms, WEBHOOK_BACKOFF_MS)
        assert value(samples, "wamesh_webhook_delivery_seconds_count") == 1
        assert 0.05 <= value(samples, "wamesh_webhook_delivery_seconds_sum") < 15
        endpoint = receiver.url  # the query (a token) is not a label
        assert value(samples, "wamesh_webhook_circuits", endpoint=endpoint, state="closed") == 1
        assert value(samples, "wamesh_webhook_circuits", endpoint=endpoint, state="open") == 0
        assert not any("token" in str(key) for key in samples)

    async def test_no_metrics_port_by_default(self, database_url: str, redis_url: str) -> None:
        ports: list[int] = []
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_worker(settings_for(database_url, redis_url), stop, on_metrics=ports.append)
        )
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        assert ports == []
