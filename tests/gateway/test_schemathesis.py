"""A schemathesis run against the gateway's own /openapi.json: no 5xx, responses match the document.

The gateway runs as a real process (schemathesis calls it synchronously); examples per operation
and the time of each call are bounded. Routes that need a worker answer 404/503 for the generated
ids, as documented. The events route is an endless stream, so it is left to test_routing.py.

Every run draws new seeds (hypothesis prints the one to reproduce a failure with);
`WAMESH_FUZZ_EXAMPLES=300` explores further than the default (how the ECMA-262/Python `\\s`
disagreement in our patterns, and `{"to": "0"}`, were found).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.gateway.conftest import API_KEY
from tests.support.gateway_process import GatewayProcess, gateway_process

STREAMING = "/v1/sessions/{id}/events"
EXAMPLES = int(os.environ.get("WAMESH_FUZZ_EXAMPLES", "15"))  # about a minute per mode


@pytest.fixture
def running(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WAMESH_API_KEY": API_KEY,
        "WAMESH_DEV": "true",
    }
    with gateway_process(env, tmp_path / "gateway.log") as gateway:
        yield gateway


def _check(operation: schemathesis.APIOperation, base_url: str, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base_url, headers={"X-Api-Key": API_KEY}, timeout=10)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_matches_its_document(running: GatewayProcess, mode: GenerationMode) -> None:
    """Every documented operation, with valid input and with input that breaks the document:
    no server error, documented status, body and content type; invalid input is refused and
    valid input is not (schemathesis' default checks, positive_data_acceptance included)."""
    schema = schemathesis.openapi.from_url(running.base_url + "/openapi.json")
    checked, failures = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == STREAMING:
            continue
        checked.append(f"{operation.method.upper()} {operation.path}")
        try:
            _check(operation, running.base_url, mode)
        except Unsatisfiable:  # nothing to break: an operation without parameters or body
            assert mode is GenerationMode.NEGATIVE, checked[-1]
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{checked[-1]}: {exc}")
    assert len(checked) >= 25
    assert failures == [], "\n\n".join(failures)
