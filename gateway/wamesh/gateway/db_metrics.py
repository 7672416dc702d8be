"""The gateway's gauges read from PostgreSQL at scrape time: lines by status, deliveries by status,
the oldest pending delivery's age, reminders due and late, worker restarts.

One statement per METRICS_DB_CACHE_S at most, whoever scrapes and however often (scrapes within
that window share the snapshot; concurrent scrapes share one query). Counting deliveries by status
reads the whole table: the cache bounds what that costs. When the read fails, the last snapshot
is kept and `wamesh_db_metrics_ok` says 0.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from wamesh.constants import METRICS_DB_CACHE_S, REMINDER_LATE_S, STATUSES
from wamesh.db.pool import Pool
from wamesh.delivery_log import DELIVERY_STATUSES

_LOGGER = logging.getLogger(__name__)

_DUE = "status = 'pending' AND COALESCE(next_attempt_at, due_at) <= now()"
_QUERY = f"""
SELECT 'lines' AS family, status AS label, count(*)::float8 AS value
    FROM wamesh.sessions GROUP BY status
UNION ALL SELECT 'deliveries', status, count(*) FROM wamesh.webhook_deliveries GROUP BY status
UNION ALL SELECT 'oldest_pending', '',
    COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0)
    FROM wamesh.webhook_deliveries WHERE status IN ('pending', 'delivering')
UNION ALL SELECT 'reminders_due', '', count(*) FROM wamesh.reminders WHERE {_DUE}
UNION ALL SELECT 'reminders_late', '', count(*) FROM wamesh.reminders
    WHERE {_DUE} AND COALESCE(next_attempt_at, due_at) <= now() - make_interval(secs => %s)
UNION ALL SELECT 'restarts', '', COALESCE(sum(GREATEST(worker_starts - 1, 0)), 0)::float8
    FROM wamesh.sessions
"""


@dataclass
class Snapshot:
    """The last values read: (family, label) -> value."""

    values: dict[tuple[str, str], float] = field(default_factory=dict)
    ok: bool = False

    def get(self, family: str, label: str = "") -> float:
        """A value (0 when the table had no such row)."""
        return self.values.get((family, label), 0.0)


class DatabaseGauges(Collector):
    """Reads the gauges (`refresh`, async, before rendering) and renders them (`collect`)."""

    def __init__(
        self,
        pool: Pool,
        cache_s: float = METRICS_DB_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._cache_s = cache_s
        self._clock = clock
        self._read_at = -cache_s
        self._lock = asyncio.Lock()
        self.snapshot = Snapshot()
        self.queries = 0  # statements run, for tests and curiosity

    async def refresh(self) -> None:
        """Read the gauges again unless the snapshot is younger than the cache period."""
        async with self._lock:
            if self._clock() - self._read_at < self._cache_s:
                return
            self._read_at = self._clock()
            self.queries += 1
            try:
                async with self._pool.connection() as conn:
                    cursor = await conn.execute(_QUERY, (REMINDER_LATE_S,))
                    rows = await cursor.fetchall()
            except Exception as exc:  # metrics must not fail a scrape; the gauge says so
                _LOGGER.warning("reading metrics from PostgreSQL failed: %s", type(exc).__name__)
                self.snapshot.ok = False
                return
            values = {(r["family"], r["label"]): float(r["value"]) for r in rows}
            self.snapshot = Snapshot(values, ok=True)

    def collect(self) -> Iterator[Metric]:
        """The families, from the last snapshot."""
        return families(self.snapshot)


def families(snap: Snapshot) -> Iterator[Metric]:
    """The gauges' families with `snap`'s values."""
    yield _by_label("wamesh_lines", "Lines by status", "status", STATUSES, snap, "lines")
    yield _by_label(
        "wamesh_webhook_deliveries",
        "Webhook deliveries by status",
        "status",
        DELIVERY_STATUSES,
        snap,
        "deliveries",
    )
    yield _single(
        "wamesh_webhook_oldest_pending_seconds",
        "Age of the oldest pending or delivering webhook delivery (0: none)",
        snap.get("oldest_pending"),
    )
    yield _single("wamesh_reminders_due", "Pending reminders due now", snap.get("reminders_due"))
    yield _single(
        "wamesh_reminders_late",
        f"Pending reminders due more than {REMINDER_LATE_S} s ago",
        snap.get("reminders_late"),
    )
    restarts = CounterMetricFamily(
        "wamesh_worker_restarts",
        "Session worker starts after each line's first (sessions.worker_starts)",
    )
    restarts.add_metric((), snap.get("restarts"))
    yield restarts
    yield _single("wamesh_db_metrics_ok", "1 when the last read of these gauges succeeded", snap.ok)


def _single(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _by_label(
    name: str,
    documentation: str,
    label: str,
    values: tuple[str, ...],
    snap: Snapshot,
    family: str,
) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=(label,))
    for value in values:
        gauge.add_metric((value,), snap.get(family, value))
    return gauge
