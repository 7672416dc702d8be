"""The webhook worker's Prometheus metrics: attempt latency, delivery latency (from the event's
time in the envelope to the 2xx answer, retries and waits included), attempts by outcome, and the
state of every endpoint's circuit (read from the worker's `Circuits` at scrape time).

Endpoints are labelled by scheme, host, port and path only: a webhook URL's query or user info
may hold a token, and metrics are not secret. URLs that differ only there share one label, whose
gauge counts their circuits per state.
"""

from __future__ import annotations

import contextlib
from collections import Counter as Tally
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from wamesh.webhooks.circuit import Circuits, State
from wamesh.webhooks.policy import Verdict, verdict

# Attempt latency buckets (seconds): a webhook answers in milliseconds to WEBHOOK_TIMEOUT_MS.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Event-to-delivery buckets (seconds): under a second when all is well, up to hours of retries.
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0)
# Outcome labels of wamesh_webhook_attempts_total: a verdict, or why no answer came.
NO_ANSWER = "no_answer"


def endpoint_label(url: str) -> str:
    """`url` without user info, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def outcome_label(status: int | None) -> str:
    """An attempt's outcome: delivered, retry, give_up, disable, or no_answer (timeouts and
    connection errors, retried too)."""
    return NO_ANSWER if status is None else verdict(status).value


class CircuitCollector(Collector):
    """`wamesh_webhook_circuits{endpoint,state}`: the endpoint's circuits in each state."""

    def __init__(self, circuits: Circuits) -> None:
        self._circuits = circuits

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One family, read at scrape time."""
        tally = Tally(
            (endpoint_label(url), self._circuits.state(url)) for url in self._circuits.known()
        )
        family = GaugeMetricFamily(
            "wamesh_webhook_circuits",
            "Endpoint circuits in this worker by state (closed, probing, open)",
            labels=("endpoint", "state"),
        )
        for endpoint in sorted({endpoint for endpoint, _ in tally}):
            for state in State:
                family.add_metric((endpoint, state.value), tally[(endpoint, state)])
        yield family


class WebhookMetrics:
    """One registry per webhook worker (tests run several in one process)."""

    def __init__(self, circuits: Circuits) -> None:
        self.registry = CollectorRegistry()
        self.attempt_latency = Histogram(
            "wamesh_webhook_attempt_duration_seconds",
            "Webhook POST latency per attempt, to the answer or the error",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "wamesh_webhook_delivery_seconds",
            "Time from an event to its delivery (2xx), retries and waits included",
            buckets=DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self.attempts = Counter(
            "wamesh_webhook_attempts_total",
            "Webhook attempts by outcome",
            ("outcome",),
            registry=self.registry,
        )
        for outcome in (*(v.value for v in Verdict), NO_ANSWER):
            self.attempts.labels(outcome)
        self.registry.register(CircuitCollector(circuits))
        ProcessCollector(registry=self.registry)

    def attempted(self, status: int | None, latency_ms: int, event_time: object = None) -> None:
        """Count one attempt that got `status` (None: no answer) after `latency_ms`; a delivery
        also observes the time since `event_time` (the envelope's ISO 8601 `timestamp`)."""
        outcome = outcome_label(status)
        self.attempts.labels(outcome).inc()
        self.attempt_latency.observe(latency_ms / 1000)
        if outcome == Verdict.DELIVERED.value and isinstance(event_time, str):
            with contextlib.suppress(ValueError):
                since = datetime.now(UTC) - datetime.fromisoformat(event_time)
                self.delivery_latency.observe(max(0.0, since.total_seconds()))
