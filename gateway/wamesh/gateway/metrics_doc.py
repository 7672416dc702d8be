"""The README's list of metrics, generated from the registries of every role
(`python -m wamesh.gateway.metrics_doc` prints it; tests/metrics checks the README holds it)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.metrics import MetricWrapperBase

from wamesh.constants import STATUSES
from wamesh.gateway.db_metrics import Snapshot, families
from wamesh.gateway.metrics import Metrics
from wamesh.session.metrics import line_registry
from wamesh.webhooks.circuit import Circuits
from wamesh.webhooks.metrics import WebhookMetrics

START = "<!-- metrics:start -->"
END = "<!-- metrics:end -->"


def _rows(role: str, metrics: list[Metric]) -> list[str]:
    rows = []
    for metric in metrics:
        labels = sorted({k for sample in metric.samples for k in sample.labels} - {"le"})
        name = metric.name + ("_total" if metric.type == "counter" else "")
        shown = ", ".join(f"`{label}`" for label in labels) or "—"
        rows.append(f"| {role} | `{name}` | {metric.type} | {shown} | {metric.documentation} |")
    return rows


def _collected(registry: CollectorRegistry, owner: object = None) -> list[Metric]:
    """`registry`'s families; `owner`'s labelled metrics first get one sample each, so their
    label names show (a labelled metric with no sample exposes none)."""
    for wrapper in vars(owner).values() if owner is not None else ():
        names = getattr(wrapper, "_labelnames", ())
        if isinstance(wrapper, MetricWrapperBase) and names:
            wrapper.labels(*names)
    return list(registry.collect())


def role_metrics() -> dict[str, list[Metric]]:
    """Every role's metric families, in exposition order."""
    circuits = Circuits(1, 1.0, 1.0, wide=1)
    circuits.answered("http://example.invalid/hook")  # so the circuit family shows its labels
    gateway, webhooks = Metrics(), WebhookMetrics(circuits)
    return {
        "gateway": _collected(gateway.registry, gateway) + list(families(Snapshot())),
        "webhook worker": _collected(webhooks.registry, webhooks),
        "session worker": _collected(line_registry("line", lambda: STATUSES[0])),
    }


def table() -> str:
    """The markdown table between the README's markers."""
    rows = ["| role | metric | type | labels | meaning |", "| --- | --- | --- | --- | --- |"]
    for role, metrics in role_metrics().items():
        rows += _rows(role, metrics)
    return "\n".join(rows)


if __name__ == "__main__":
    print(f"{START}\n{table()}\n{END}")
