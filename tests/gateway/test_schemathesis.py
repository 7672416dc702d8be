"""A schemathesis run against the gateway's own /openapi.json and a real ready line: no 5xx,
responses match the document, valid input accepted and invalid input refused.

The gateway and the line's session worker (sandbox engine, scanned so the line is ready) run as
real processes (schemathesis calls them synchronously). A path parameter is either a real id of
that line (the line, a sent message, its chat, a group, a stored medium, a reminder, a delivery)
or one schemathesis makes up, so both the handlers' real work and their unknown-id answers are
met. Operations that end the line (restart, phone disconnect, logout, stop, delete) run last. The
events route is an endless stream, so it is left to test_routing.py.

Every run draws new seeds (hypothesis prints the one to reproduce a failure with). `make test`
runs FUZZ_EXAMPLES_DEFAULT examples per operation and mode; the issue's bar is 300:
`WAMESH_FUZZ_EXAMPLES=300 uv run pytest -s tests/gateway/test_schemathesis.py` (README, Tests).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import PositiveDataAcceptanceConfig

from tests.support.ready_line import API_KEY, CONTACT, ReadyLine, ready_line

STREAMING = "/v1/sessions/{id}/events"
# Last, in this order: each leaves the line less usable for what follows.
ENDING = (
    "restart_session",
    "sandbox_disconnect",
    "logout_session",
    "stop_session",
    "start_session",
    "delete_session",
)
# What valid input may be refused with: schemathesis' defaults, and 422, which the document
# gives where input it allows cannot be carried out (a time already past, a media URL that
# cannot be fetched, a number not on WhatsApp): no schema can say those. Never 400.
ACCEPTED_REFUSALS = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
FUZZ_EXAMPLES_DEFAULT = 15  # about a minute and a half per mode on the loaded 2-core machine
EXAMPLES = int(os.environ.get("WAMESH_FUZZ_EXAMPLES", str(FUZZ_EXAMPLES_DEFAULT)))


@pytest.fixture
def line(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[ReadyLine]:
    with ready_line(database_url, redis_url, tmp_path) as ready:
        yield ready


def _ending(operation: schemathesis.APIOperation) -> int:
    """0 for most operations; 1, 2... for those in ENDING, in its order."""
    name = operation.definition.raw.get("operationId")
    return ENDING.index(name) + 1 if name in ENDING else 0


def _ordered(schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted((op for op in operations if op.path != STREAMING), key=_ending)


def _real_fields(line: ReadyLine) -> dict[str, dict[str, str]]:
    """Body and query fields (by operation) that must name the line's real things for the call
    to reach its work: the chat a message is in, a contact's message, a poll."""
    sent_in = {"chat_id": line.ids["chat_id"]}
    theirs = {"from": CONTACT, "message_id": line.ids["received_message_id"]}
    return {
        "react_to_message": sent_in,
        "edit_message": sent_in,
        "forward_message": sent_in,
        "revoke_message": sent_in,
        "sandbox_InjectReaction": theirs,
        "sandbox_InjectEdit": theirs,
        "sandbox_InjectRevoke": theirs,
        "sandbox_InjectPollVote": {**sent_in, "from": CONTACT, "message_id": line.ids["poll_id"]},
    }


def _with_real_fields(case: schemathesis.Case, fields: dict[str, str]) -> schemathesis.Case:
    """`case` with the fields it has set to real values (valid input stays valid)."""
    for part in (case.body, case.query):
        if isinstance(part, dict):
            part.update({key: value for key, value in fields.items() if key in part})
    return case


def _strategy(
    operation: schemathesis.APIOperation, mode: GenerationMode, line: ReadyLine
) -> st.SearchStrategy[schemathesis.Case]:
    """Cases with the line's real ids in the path (and, for valid input, in the fields that name
    its things), and one in four with made-up ones."""
    names = [p.name for p in operation.path_parameters]
    real = {name: line.ids[name] for name in names if name in line.ids}
    fields = _real_fields(line).get(operation.definition.raw.get("operationId"), {})
    if not real and not fields:
        return operation.as_strategy(mode)
    realistic = operation.as_strategy(mode, path_parameters=real)
    if mode is GenerationMode.POSITIVE:  # never in negative cases: it could mend what they broke
        realistic = realistic.map(lambda case: _with_real_fields(case, fields))
    return st.one_of(realistic, realistic, realistic, operation.as_strategy(mode))


def _check(
    operation: schemathesis.APIOperation, mode: GenerationMode, line: ReadyLine, seen: Counter[int]
) -> None:
    @given(case=_strategy(operation, mode, line))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=line.base_url, headers={"X-Api-Key": API_KEY}, timeout=10)
        seen[response.status_code] += 1
        case.validate_response(response)

    run()


def _described(exc: BaseException) -> str:
    """What went wrong, with the failures a group (e.g. hypothesis' Flaky) holds."""
    text = str(exc)
    if isinstance(exc, BaseExceptionGroup):
        text += "".join(f"\n  - {type(e).__name__}: {str(e)[:3000]}" for e in exc.exceptions)
    return text


@pytest.mark.timeout(240 + 5 * EXAMPLES)  # pytest-timeout's failure would land in a hypothesis run
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_matches_its_document(line: ReadyLine, mode: GenerationMode) -> None:
    """Every documented operation, with valid input and with input that breaks the document:
    no server error, documented status, body and content type; invalid input is refused and
    valid input is not (schemathesis' default checks, positive_data_acceptance included)."""
    schema = schemathesis.openapi.from_url(line.base_url + "/openapi.json")
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=ACCEPTED_REFUSALS
    )
    checked, failures, seen, unserved = [], [], Counter[int](), []
    started = time.monotonic()
    for operation in _ordered(schema):
        checked.append(f"{operation.method.upper()} {operation.path}")
        statuses = Counter[int]()
        try:
            _check(operation, mode, line, statuses)
        except Unsatisfiable:  # nothing to break: an operation without parameters or body
            assert mode is GenerationMode.NEGATIVE, checked[-1]
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failures, then all
            failures.append(f"{checked[-1]}: {_described(exc)}")
        seen.update(statuses)
        if not any(200 <= status < 300 for status in statuses):
            unserved.append(f"{checked[-1]} {dict(statuses)}")
    print(
        f"\nschemathesis {mode.value}: {len(checked)} operations, {EXAMPLES} examples each, "
        f"{sum(seen.values())} calls in {time.monotonic() - started:.0f} s, {len(unserved)} operations "
        "never answered 2xx, "
        f"5xx {sum(n for s, n in seen.items() if s >= 500)}, mismatches {len(failures)}; "
        f"statuses {dict(sorted(seen.items()))}"
    )
    assert len(checked) >= 50
    assert sum(seen.values()) > len(checked)
    if mode is GenerationMode.POSITIVE:  # the line is real and ready: nearly everything works
        assert len(unserved) <= 8, "\n".join(unserved)
    assert failures == [], "\n\n".join(failures)
