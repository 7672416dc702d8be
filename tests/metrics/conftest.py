"""Fixtures for metrics tests: the webhook tests' receiver and the gateway tests' gateway, and a
scrape that parses with prometheus_client's own text parser."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.conftest import gateway
from tests.webhooks.conftest import line_for, receiver

__all__ = ["gateway", "line_for", "receiver", "scrape"]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(url: str) -> Samples:
    """GET `url` (a /metrics endpoint): every sample, keyed by name and sorted labels."""
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (AssertionError naming it when absent)."""
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, (
        f"{key} not in the exposition: {sorted(k for k in samples if k[0] == name)}"
    )
    return samples[key]
