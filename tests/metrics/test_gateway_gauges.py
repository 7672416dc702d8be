"""The gateway's `/metrics` carries the mesh's gauges read from PostgreSQL, cached for a few
seconds so scrapes cost a bounded number of queries."""

from __future__ import annotations

import psycopg

from tests.metrics.conftest import scrape, value
from tests.support.workers import create_line
from tests.webhooks.conftest import add_events
from wamesh.db.pool import Pool
from wamesh.gateway.app import RunningGateway


def _sql(database_url: str, statement: str, *params: object) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(statement, params)


async def _mesh(database_url: str, pool: Pool) -> None:
    """Two lines (ready after 3 worker starts, failed after 1), four deliveries (2 pending, the
    oldest 100 s old, 1 delivered, 1 failed), three reminders (due 10 s ago, 120 s ago, future)."""
    ready = create_line(database_url)
    failed = create_line(database_url)
    _sql(
        database_url,
        "UPDATE wamesh.sessions SET status = 'ready', worker_starts = 3 WHERE id = %s",
        ready,
    )
    _sql(
        database_url,
        "UPDATE wamesh.sessions SET status = 'failed', worker_starts = 1 WHERE id = %s",
        failed,
    )
    ids = await add_events(pool, ready, 4)
    _sql(
        database_url,
        "UPDATE wamesh.webhook_deliveries SET created_at = now() - interval '100 s' WHERE id = %s",
        ids[0],
    )
    _sql(
        database_url,
        "UPDATE wamesh.webhook_deliveries SET status = 'delivered' WHERE id = %s",
        ids[2],
    )
    _sql(
        database_url, "UPDATE wamesh.webhook_deliveries SET status = 'failed' WHERE id = %s", ids[3]
    )
    for offset in ("-10 s", "-120 s", "1 hour"):
        _sql(
            database_url,
            "INSERT INTO wamesh.reminders (session_id, series_id, recipient, text, due_at) "
            "VALUES (%s, gen_random_uuid(), '15550001111@s.whatsapp.net', 'hi', now() + %s::interval)",
            ready,
            offset,
        )


class TestGatewayGauges:
    """Every gauge holds the database's truth at scrape time."""

    async def test_gauges_match_the_rows(
        self, gateway: RunningGateway, database_url: str, pool: Pool
    ) -> None:
        await _mesh(database_url, pool)
        samples = await scrape(f"http://127.0.0.1:{gateway.http_port}/metrics")
        assert value(samples, "wamesh_lines", status="ready") == 1
        assert value(samples, "wamesh_lines", status="failed") == 1
        assert value(samples, "wamesh_lines", status="qr") == 0
        assert value(samples, "wamesh_webhook_deliveries", status="pending") == 2
        assert value(samples, "wamesh_webhook_deliveries", status="delivered") == 1
        assert value(samples, "wamesh_webhook_deliveries", status="failed") == 1
        assert 100 <= value(samples, "wamesh_webhook_oldest_pending_seconds") < 160
        assert value(samples, "wamesh_reminders_due") == 2
        assert value(samples, "wamesh_reminders_late") == 1
        assert value(samples, "wamesh_worker_restarts_total") == 2
        assert value(samples, "wamesh_db_metrics_ok") == 1
        # the scrape itself was counted by the HTTP metrics of the request before it
        samples = await scrape(f"http://127.0.0.1:{gateway.http_port}/metrics")
        assert (
            value(
                samples, "wamesh_http_requests_total", method="GET", route="/metrics", status="200"
            )
            >= 1
        )

    async def test_scrapes_within_the_cache_period_share_one_query(
        self, gateway: RunningGateway, database_url: str
    ) -> None:
        line = create_line(database_url)
        url = f"http://127.0.0.1:{gateway.http_port}/metrics"
        first = await scrape(url)
        _sql(database_url, "UPDATE wamesh.sessions SET status = 'ready' WHERE id = %s", line)
        second = await scrape(url)
        database = gateway.gateway.metrics.database
        assert database is not None
        assert database.queries == 1
        assert (
            value(first, "wamesh_lines", status="ready")
            == value(second, "wamesh_lines", status="ready")
            == 0
        )
