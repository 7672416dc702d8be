"""What a gateway scrape costs PostgreSQL: the gauges' one statement against `SELECT 1` (the
round-trip floor), at 10 k, 100 k and 1 M deliveries (1 % pending, 2 % failed, the rest delivered)
over 100 lines, in the same run. The gateway runs it at most once per METRICS_DB_CACHE_S."""

from __future__ import annotations

import time

import psycopg

from tests.bench.common import bench_infra
from tests.support.infra import fresh_database
from wamesh.constants import METRICS_DB_CACHE_S, REMINDER_LATE_S
from wamesh.gateway.db_metrics import _QUERY

SIZES = (10_000, 100_000, 1_000_000)
_FILL = """
INSERT INTO wamesh.webhook_deliveries (session_id, event_type, payload, status)
SELECT l.ids[1 + t.g %% 100], 'message.received', '{}'::jsonb,
    CASE WHEN t.g %% 100 = 0 THEN 'pending' WHEN t.g %% 50 = 1 THEN 'failed' ELSE 'delivered' END
FROM generate_series(1, %s) AS t(g), (SELECT array_agg(id) AS ids FROM wamesh.sessions) AS l
"""


def _best_ms(conn: psycopg.Connection, statement: str, params: tuple[object, ...] = ()) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        conn.execute(statement, params).fetchall()  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _measure(conn: psycopg.Connection) -> None:  # type: ignore[type-arg]
    conn.execute(
        "INSERT INTO wamesh.sessions (name) SELECT 'line ' || g FROM generate_series(1, 100) g"
    )
    have = 0
    for size in SIZES:
        conn.execute(_FILL, (size - have,))  # type: ignore[arg-type]
        have = size
        conn.execute("VACUUM ANALYZE wamesh.webhook_deliveries")
        floor = _best_ms(conn, "SELECT 1")
        gauges = _best_ms(conn, _QUERY, (REMINDER_LATE_S,))
        print(
            f"{size:>9} deliveries: gauges {gauges:.1f} ms, SELECT 1 {floor:.2f} ms "
            f"(ratio {gauges / floor:.0f}; best of 5; at most one per {METRICS_DB_CACHE_S:.0f} s: "
            f"{gauges / 10 / METRICS_DB_CACHE_S:.1f} % of a PostgreSQL core)",
            flush=True,
        )


def main() -> None:
    """Print each size's figures and its ratio to the floor."""
    with (
        bench_infra() as (infra, _),
        fresh_database(infra) as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        _measure(conn)


if __name__ == "__main__":
    main()
