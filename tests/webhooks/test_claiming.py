"""How kicked ids become claimed rows: the place counter, the batching claimer, and the plans
of the claim and outcome statements (a full scan per claim once cost most of the worker's time)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg
import pytest

from tests.support.supabase import OWNER, as_role
from tests.webhooks.conftest import add_events, statuses
from wamesh.db.pool import Pool
from wamesh.ids import as_uuid, uuids
from wamesh.lines import NewLine
from wamesh.webhooks import delivery, outcomes, reconciler
from wamesh.webhooks.circuit import Circuits, State
from wamesh.webhooks.intake import Intake, Sorted
from wamesh.webhooks.lanes import Lanes, Rooms
from wamesh.webhooks.outcomes import OutcomeWriter
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


@dataclass(frozen=True)
class _Row:
    id: str
    session_id: str
    webhook_url: str | None = None


def _claim_all(batches: list[list[str]]) -> Callable[..., Awaitable[Sorted[_Row]]]:
    """A claim that takes every id (line = the id's prefix before '-') and notes each batch."""

    async def claim(reserved: list[str], fresh: list[str], rooms: Rooms) -> Sorted[_Row]:
        batches.append(reserved + fresh)
        await asyncio.sleep(0.005)
        return Sorted([_Row(i, i.split("-")[0]) for i in reserved + fresh], [])

    return claim


class TestIntake:
    """Kicks are claimed in batches within the free places; a failure reaches its callers."""

    async def test_many_callers_are_claimed_in_batches_no_larger_than_the_free_places(self) -> None:
        slots = Slots(4)
        lanes = Lanes(100, Circuits(5, 1, 1, wide=100))
        batches: list[list[str]] = []
        started: list[str] = []

        def start(rows: list[_Row]) -> None:
            started.extend(r.id for r in rows)
            for r in rows:  # as if every attempt ended at once
                lanes.release(r.session_id, r.webhook_url)
            slots.give(len(rows))

        intake: Intake[_Row] = Intake(slots, lanes, _claim_all(batches), start)
        callers = [[f"{c}-{n}" for n in range(7)] for c in range(5)]
        await asyncio.wait_for(asyncio.gather(*(intake.submit(ids) for ids in callers)), 5)
        await intake.stop()
        assert sorted(started) == sorted(i for ids in callers for i in ids)
        assert max(len(b) for b in batches) <= 4
        assert all(batches)  # no empty claim (a round trip for nothing)
        assert len(batches) < 35  # batched, not one claim per id

    async def test_a_failed_claim_fails_the_callers_in_its_batch_and_the_rest_go_on(self) -> None:
        slots = Slots(2)
        lanes = Lanes(100, Circuits(5, 1, 1, wide=100))
        started: list[str] = []

        async def claim(reserved: list[str], fresh: list[str], rooms: Rooms) -> Sorted[_Row]:
            if "bad" in fresh:
                raise psycopg.OperationalError("database went away")
            return Sorted([_Row(i, "line") for i in fresh], [])

        def start(rows: list[_Row]) -> None:
            started.extend(r.id for r in rows)
            for r in rows:
                lanes.release(r.session_id, r.webhook_url)
            slots.give(len(rows))

        intake: Intake[_Row] = Intake(slots, lanes, claim, start)
        with pytest.raises(psycopg.OperationalError):
            await asyncio.wait_for(intake.submit(["bad", "lost-too", "also-lost"]), 5)
        assert slots.free == 2  # the places of the failed batch came back
        await asyncio.wait_for(intake.submit(["good"]), 5)
        await intake.stop()
        assert started == ["good"]

    async def test_rows_of_a_full_line_wait_unclaimed_and_go_as_places_free(self) -> None:
        slots = Slots(10)
        lanes = Lanes(2, Circuits(5, 1, 1, wide=100))
        claims: list[tuple[list[str], list[str]]] = []
        started: list[_Row] = []

        async def claim(reserved: list[str], fresh: list[str], rooms: Rooms) -> Sorted[_Row]:
            claims.append((reserved, fresh))
            room = dict(zip(rooms.lines, rooms.line_rooms, strict=True)).get(
                "a", rooms.line_default
            )
            take = reserved + fresh[:room]
            return Sorted([_Row(i, "a") for i in take], [(i, "a", None) for i in fresh[room:]])

        intake: Intake[_Row] = Intake(slots, lanes, claim, started.extend)
        await asyncio.wait_for(intake.submit([f"r{n}" for n in range(6)]), 5)
        assert [r.id for r in started] == ["r0", "r1"]
        assert lanes.waiting == 4
        assert lanes.held_lines() == ["a"]
        for row in list(started):  # the two attempts end: the next two, and only they, go
            lanes.release(row.session_id, None)
            slots.give()
        intake.wake()
        await asyncio.sleep(0.05)
        assert [r.id for r in started] == ["r0", "r1", "r2", "r3"]
        assert claims[-1] == (["r2", "r3"], [])
        await intake.stop()


class TestLanes:
    """Rooms per line and endpoint; lines take turns."""

    def test_lines_take_turns_and_a_full_line_gives_none(self) -> None:
        lanes = Lanes(2, Circuits(5, 1, 1, wide=100))
        for n in range(5):
            lanes.wait(f"a{n}", "a", None)
        lanes.wait("b0", "b", None)
        lanes.wait("a0", "a", None)  # already waiting: once
        assert lanes.ready() == 3
        assert [p.id for p in lanes.pick(10)] == ["a0", "b0", "a1"]
        assert lanes.room("a", None) == 0
        assert lanes.pick(10) == []

    def test_an_unproven_or_failing_endpoint_gets_one_place_and_a_paused_one_none(self) -> None:
        now = [100.0]
        circuits = Circuits(2, 5, 60, wide=100, clock=lambda: now[0])
        lanes = Lanes(5, circuits)
        url = "http://h/hook"
        assert lanes.room("a", url) == 1  # new: one attempt until it answers
        circuits.answered(url)
        assert lanes.room("a", url) == 5
        assert circuits.failed(url) is None
        assert (circuits.state(url), lanes.room("a", url)) == (State.PROBING, 1)
        change = circuits.failed(url)
        assert change is not None
        assert change.state is State.OPEN
        assert 5 <= change.pause_s <= 5.5
        assert lanes.room("a", url) == 0
        now[0] += 6
        assert lanes.room("a", url) == 1  # one probe
        longer = circuits.failed(url)
        assert longer is not None
        assert 10 <= longer.pause_s <= 11
        now[0] += 12
        assert circuits.answered(url) is not None
        assert (circuits.state(url), lanes.room("a", url)) == (State.CLOSED, 5)


class TestIds:
    def test_only_uuids_pass_in_canonical_form(self) -> None:
        raw = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
        assert as_uuid(raw) == raw.lower()
        assert as_uuid("x'; DROP TABLE sessions; --") is None
        assert uuids([raw, "nope", ""]) == [raw.lower()]


def _plan(database_url: str, statement: str, params: dict[str, object]) -> str:
    with psycopg.connect(as_role(database_url, OWNER), autocommit=True) as owner:
        owner.execute("ANALYZE wamesh.webhook_deliveries")  # only the owner may
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("EXPLAIN (FORMAT JSON) " + statement, params).fetchall()
        conn.rollback()
    return json.dumps(rows[0][0])


async def test_claims_and_outcomes_find_rows_by_key_not_by_scanning(
    pool: Pool, line_for: Callable[[str], str], database_url: str
) -> None:
    line = line_for("http://127.0.0.1:9/hook")
    ids = await add_events(pool, line, 3000)
    params = {"ids": "{" + ",".join(ids[:10]) + "}", "reserved": "{" + ",".join(ids[:2]) + "}"}
    params |= {"claim_s": 25, "lines": "{}", "line_rooms": "{}", "urls": "{}", "url_rooms": "{}"}
    params |= {"line_default": 5, "url_default": 1, "wide_urls": "{}", "url_wide": 100}
    claim = _plan(database_url, delivery._CLAIM, params)
    assert "webhook_deliveries_pkey" in claim
    count = 20
    rows = [{"id": i, "attempt": 1, "latency": 1, "status": "delivered"} for i in ids[:count]]
    outcome = {"rows": json.dumps(rows)}
    assert "webhook_deliveries_pkey" in _plan(database_url, delivery._OUTCOME, outcome)


async def test_the_reconciler_walks_unfinished_rows_only(
    pool: Pool, line_for: Callable[[str], str], database_url: str
) -> None:
    line = line_for("http://127.0.0.1:9/hook")
    ids = await add_events(pool, line, 3000)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE wamesh.webhook_deliveries SET status = 'delivered' WHERE id <> ALL(%s::uuid[])",
            (ids[:30],),
        )
    plan = _plan(database_url, reconciler._STRANDED, {"grace": 15, "batch": 500, "held": []})
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


def _mark_delivering(database_url: str, ids: list[str]) -> None:
    """The rows as a worker leaves them before their POST: delivering, first attempt."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE wamesh.webhook_deliveries SET status = 'delivering', attempts = 1"
            " WHERE id = ANY(%s::uuid[])",
            (ids,),
        )


async def test_outcomes_written_at_once_or_batched_each_committed_when_its_write_returns(
    pool: Pool, line_for: Callable[[str], str], database_url: str
) -> None:
    line = line_for("http://127.0.0.1:9/hook")
    ids = await add_events(pool, line, 60)
    _mark_delivering(database_url, ids)
    writer = OutcomeWriter(pool, delivery._OUTCOME)
    row = {"attempt": 1, "code": 204, "latency": 3, "attempt_error": None, "snippet": 'a"\\'}
    row |= {"status": "delivered", "error": None, "delay": 0.0}
    not_yet: list[str] = []

    async def write(delivery_id: str) -> None:
        await writer.write({**row, "id": delivery_id})
        if statuses(database_url, [delivery_id]) != {delivery_id: "delivered"}:
            not_yet.append(delivery_id)

    await write(ids[0])  # alone: written by its caller at once
    await asyncio.gather(*(write(i) for i in ids[1:]))  # the others queue behind a write
    assert not_yet == []
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT count(*), min(response_snippet), min(status_code) FROM wamesh.webhook_attempts"
            " WHERE delivery_id = ANY(%s::uuid[])",
            (ids,),
        ).fetchone()
    assert found == (60, 'a"\\', 204)


def test_an_idle_reconciler_waits_longer_up_to_half_the_grace() -> None:
    waits = [1.0]
    for _ in range(4):
        waits.append(reconciler.idle_wait(waits[-1], 1.0, 5.0, busy=False))
    assert waits == [1.0, 2.0, 2.5, 2.5, 2.5]
    assert reconciler.idle_wait(2.5, 1.0, 5.0, busy=True) == 1.0
    assert reconciler.idle_wait(0.2, 0.2, 0.1, busy=False) == 0.2  # never below the interval


async def test_delivered_outcomes_sent_unconfirmed_are_committed_and_answered_later(
    pool: Pool, line_for: Callable[[str], str], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    line = line_for("http://127.0.0.1:9/hook")
    ids = await add_events(pool, line, 30)
    _mark_delivering(database_url, ids)
    writer = OutcomeWriter(pool, delivery._OUTCOME)
    row = {"attempt": 1, "code": 204, "latency": 3, "attempt_error": None, "snippet": ""}
    row |= {"status": "delivered", "error": None, "delay": 0.0}
    await writer.write({**row, "id": ids[0]}, confirm=False)
    await asyncio.gather(*(writer.write({**row, "id": i}, confirm=False) for i in ids[1:20]))
    await writer.write({**row, "id": "not-a-uuid"}, confirm=False)  # its answer is an error
    await writer.write({**row, "id": ids[20]})  # read first: logged, and this one goes on
    assert "were not recorded" in caplog.text
    await asyncio.gather(*(writer.write({**row, "id": i}, confirm=False) for i in ids[21:]))
    deadline = asyncio.get_running_loop().time() + outcomes.COLLECT_S + 2
    while pool.get_stats()["pool_available"] < pool.get_stats()["pool_size"]:
        assert asyncio.get_running_loop().time() < deadline, "the connection never came back"
        await asyncio.sleep(0.1)
    assert set(statuses(database_url, ids).values()) == {"delivered"}
    await writer.stop()
