"""Prometheus metrics of the gateway: HTTP requests by route and status, latency, routed calls,
and the mesh's gauges read from PostgreSQL at scrape time (wamesh.gateway.db_metrics)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from wamesh.db.pool import Pool
from wamesh.gateway.db_metrics import DatabaseGauges

__all__ = ["CONTENT_TYPE", "Metrics"]


class Metrics:
    """One registry per gateway (tests run several in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "wamesh_http_requests_total",
            "HTTP requests",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "wamesh_http_request_duration_seconds",
            "HTTP request latency",
            ("route",),
            registry=self.registry,
        )
        self.routed = Counter(
            "wamesh_routed_calls_total",
            "Calls routed to workers",
            ("method", "outcome"),
            registry=self.registry,
        )
        self.database: DatabaseGauges | None = None
        ProcessCollector(registry=self.registry)

    def watch_database(self, pool: Pool) -> None:
        """Add the gauges read from PostgreSQL (once per gateway, when its pool is open)."""
        self.database = DatabaseGauges(pool)
        self.registry.register(self.database)

    async def refresh(self) -> None:
        """Bring the PostgreSQL gauges up to date (cached; see db_metrics)."""
        if self.database is not None:
            await self.database.refresh()

    def record_routed(self, method: str, outcome: str) -> None:
        """Count one routed call."""
        self.routed.labels(method, outcome).inc()

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
