"""A session worker's Prometheus metrics, served only when WAMESH_METRICS_PORT is set (imported
only then: hundreds of workers pay nothing for it by default, README "Budgets").

The process collector's CPU, memory and file descriptors (the budget's figures, per line) and the
line's status as this worker sees it live."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from wamesh.constants import STATUSES
from wamesh.metrics_http import serving_metrics
from wamesh.session.line import Line
from wamesh.settings import Settings


class LineCollector(Collector):
    """`wamesh_line_status{line_id,status}`: 1 for the line's live status, 0 for the others."""

    def __init__(self, session_id: str, status: Callable[[], str]) -> None:
        self._session_id = session_id
        self._status = status

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One family, read at scrape time."""
        family = GaugeMetricFamily(
            "wamesh_line_status",
            "The line's live status in this worker (1 for the current one)",
            labels=("line_id", "status"),
        )
        now = self._status()
        for status in STATUSES:
            family.add_metric((self._session_id, status), float(status == now))
        yield family


def line_registry(session_id: str, status: Callable[[], str]) -> CollectorRegistry:
    """The registry of one session worker process."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    registry.register(LineCollector(session_id, status))
    return registry


@asynccontextmanager
async def serving_line_metrics(settings: Settings, line: Line) -> AsyncIterator[int | None]:
    """Serve the worker's metrics on WAMESH_METRICS_PORT while inside; yields the bound port."""
    async with serving_metrics(
        line_registry(line.session_id, lambda: line.status),
        settings.grpc_bind_host,
        settings.metrics_port,
    ) as port:
        yield port
