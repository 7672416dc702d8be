"""How kicked ids become claimed rows: the place counter, the batching claimer, and the plans
of the claim and outcome statements (a full scan per claim once cost most of the worker's time)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import psycopg
import pytest

from tests.webhooks.conftest import add_events
from wamesh.db.pool import Pool
from wamesh.ids import as_uuid, uuids
from wamesh.lines import NewLine
from wamesh.webhooks import delivery, reconciler
from wamesh.webhooks.intake import CLAIMERS, Intake
from wamesh.webhooks.slots import Slots


class TestSlots:
    async def test_take_gets_what_is_free_up_to_what_is_wanted(self) -> None:
        slots = Slots(5)
        assert await slots.take(3) == 3
        assert await slots.take(10) == 2
        assert slots.free == 0

    async def test_take_waits_for_a_place_and_takers_go_in_order(self) -> None:
        slots = Slots(1)
        assert await slots.take(1) == 1
        order: list[str] = []

        async def taker(name: str) -> None:
            await slots.take(1)
            order.append(name)

        first = asyncio.create_task(taker("first"))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(taker("second"))
        await asyncio.sleep(0.01)
        assert order == []
        slots.give()
        await asyncio.wait_for(first, 1)
        assert not second.done()
        slots.give()
        await asyncio.wait_for(second, 1)
        assert order == ["first", "second"]

    async def test_a_cancelled_taker_takes_nothing(self) -> None:
        slots = Slots(1)
        await slots.take(1)
        waiting = asyncio.create_task(slots.take(1))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        slots.give()
        assert slots.free == 1
        assert await slots.take(1) == 1

    def test_capacity_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            Slots(0)


class TestIntake:
    async def test_many_callers_are_claimed_in_batches_no_larger_than_the_free_places(self) -> None:
        slots = Slots(4)
        batches: list[list[str]] = []
        started: list[str] = []

        async def claim(ids: list[str]) -> list[str]:
            batches.append(ids)
            await asyncio.sleep(0.005)
            return ids

        def start(rows: list[str], places: int) -> None:
            started.extend(rows)
            slots.give(places)  # as if every attempt ended at once

        intake: Intake[str] = Intake(slots, claim, start)
        callers = [[f"{c}-{n}" for n in range(7)] for c in range(5)]
        await asyncio.wait_for(asyncio.gather(*(intake.submit(ids) for ids in callers)), 5)
        await intake.stop()
        assert sorted(started) == sorted(i for ids in callers for i in ids)
        assert max(len(b) for b in batches) <= 4
        assert all(batches)  # no empty claim (a round trip for nothing)
        assert len(batches) < 35  # batched, not one claim per id

    async def test_a_failed_claim_fails_the_callers_in_its_batch_and_the_rest_go_on(self) -> None:
        slots = Slots(2)
        started: list[str] = []

        async def claim(ids: list[str]) -> list[str]:
            if "bad" in ids:
                raise psycopg.OperationalError("database went away")
            return ids

        def start(rows: list[str], places: int) -> None:
            started.extend(rows)
            slots.give(places)

        intake: Intake[str] = Intake(slots, claim, start)
        with pytest.raises(psycopg.OperationalError):
            await asyncio.wait_for(intake.submit(["bad", "lost-too", "also-lost"]), 5)
        assert slots.free == 2  # the places of the failed batch came back
        await asyncio.wait_for(intake.submit(["good"]), 5)
        await intake.stop()
        assert started == ["good"]

    async def test_a_claim_loop_that_died_is_replaced(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        slots = Slots(10)
        started: list[str] = []

        async def claim(ids: list[str]) -> list[str]:
            return ids

        def start(rows: list[str], places: int) -> None:
            if "boom" in rows:
                raise RuntimeError("a bug in start")
            started.extend(rows)
            slots.give(places)

        intake: Intake[str] = Intake(slots, claim, start)
        stuck = [asyncio.create_task(intake.submit(["boom"])) for _ in range(CLAIMERS)]
        await asyncio.sleep(0.05)  # every claim loop has died on a "boom"
        await asyncio.wait_for(intake.submit(["after"]), 5)
        assert started == ["after"]
        assert "a claim loop ended" in caplog.text
        for task in stuck:
            task.cancel()
        await intake.stop()


class TestIds:
    def test_only_uuids_pass_in_canonical_form(self) -> None:
        raw = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
        assert as_uuid(raw) == raw.lower()
        assert as_uuid("x'; DROP TABLE sessions; --") is None
        assert uuids([raw, "nope", ""]) == [raw.lower()]


def _plan(database_url: str, statement: str, params: dict[str, object]) -> str:
    with psycopg.connect(database_url) as conn:
        conn.execute("ANALYZE webhook_deliveries")
        rows = conn.execute("EXPLAIN (FORMAT JSON) " + statement, params).fetchall()
        conn.rollback()
    return json.dumps(rows[0][0])


async def test_claims_and_outcomes_find_rows_by_key_not_by_scanning(
    pool: Pool, line_for: Callable[[str], str], database_url: str
) -> None:
    line = line_for("http://127.0.0.1:9/hook")
    ids = await add_events(pool, line, 3000)
    claim = _plan(database_url, delivery._CLAIM, {"ids": ids[:10], "claim_s": 25})
    assert "webhook_deliveries_pkey" in claim
    count = 20
    outcome = {name: [None] * count for name in delivery._OUTCOME_FIELDS}
    outcome |= {"id": ids[:count], "attempt": [1] * count, "latency": [1] * count}
    outcome |= {"status": ["delivered"] * count, "delay": [0.0] * count}
    assert "webhook_deliveries_pkey" in _plan(database_url, delivery._OUTCOME, outcome)


async def test_the_reconciler_walks_unfinished_rows_only(
    pool: Pool, line_for: Callable[[str], str], database_url: str
) -> None:
    line = line_for("http://127.0.0.1:9/hook")
    ids = await add_events(pool, line, 3000)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE webhook_deliveries SET status = 'delivered' WHERE id <> ALL(%s::uuid[])",
            (ids[:30],),
        )
    plan = _plan(database_url, reconciler._STRANDED, {"grace": 15, "batch": 500})
    assert "webhook_deliveries_unfinished" in plan
    assert "webhook_deliveries_pkey" in plan


def test_a_claimed_row_or_a_new_line_never_shows_its_secret() -> None:
    claimed = delivery.Claimed(
        id="d",
        session_id="s",
        payload={},
        attempts=1,
        webhook_url="https://example.com/h",
        webhook_secret="whsec_c2VjcmV0",
        webhook_enabled=True,
    )
    assert "whsec_" not in repr(claimed)
    assert "whsec_" not in repr(NewLine(name="shop", webhook_secret="whsec_c2VjcmV0"))
