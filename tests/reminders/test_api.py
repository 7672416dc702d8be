"""The reminders API: create (due time or delay, repeat, idempotent key), list, get, edit, cancel;
bad input answers problem+json; a repeating reminder produces its occurrences and stops."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.gateway.conftest import Api, scan
from tests.support.workers import WorkerProcess

LINES = "/v1/sessions"


async def _line(api: Api, webhook_url: str | None = None) -> str:
    status, created = await api.call(
        "POST", LINES, {"name": "reminders", "webhook_url": webhook_url}
    )
    assert status == 201
    return str(created["session"]["id"])


def _soon(seconds: float = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


class TestValidation:
    """Bad input is refused with a clear problem."""

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"recipient": "15550001111", "text": "x", "due_at": "2030-01-01T00:00:00"}, "due_at"),
            ({"recipient": "15550001111", "text": "   ", "delay_seconds": 5}, "text"),
            ({"recipient": "15550001111", "text": "x"}, "due_at"),
            ({"recipient": "bob", "text": "x", "delay_seconds": 5}, "recipient"),
        ],
    )
    async def test_bad_input(self, api: Api, body: dict[str, object], field: str) -> None:
        line = await _line(api)
        status, problem = await api.call("POST", f"{LINES}/{line}/reminders", body)
        assert status == 400, problem
        assert problem["field"] == field
        if "2030-01-01T00:00:00" in str(body):
            assert "time zone" in problem["detail"] or "zone" in problem["detail"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"recipient": "15550001111", "text": "x", "due_at": "2020-01-01T00:00:00Z"}, "due_at"),
            (
                {
                    "recipient": "15550001111",
                    "text": "x",
                    "delay_seconds": 5,
                    "repeat": {"every": 1, "unit": "hours", "until": "2020-01-01T00:00:00Z"},
                },
                "repeat.until",
            ),
        ],
    )
    async def test_what_no_schema_can_say_is_422(
        self, api: Api, body: dict[str, object], field: str
    ) -> None:
        """A time already past, a repeat ending before it starts: well formed, not doable."""
        line = await _line(api)
        status, problem = await api.call("POST", f"{LINES}/{line}/reminders", body)
        assert (status, problem["code"], problem["field"]) == (422, "unprocessable", field)

    async def test_unknown_line_is_404(self, api: Api) -> None:
        body = {"recipient": "15550001111", "text": "x", "delay_seconds": 5}
        status, problem = await api.call(
            "POST", f"{LINES}/7c9e6679-7425-40de-944b-e07fc1f90ae7/reminders", body
        )
        assert (status, problem["code"]) == (404, "session_not_found")


class TestLifecycle:
    """Create, idempotent create, list with filters, get, edit, cancel."""

    async def test_crud(self, api: Api) -> None:
        line = await _line(api)
        body = {
            "recipient": "+1 555 000 1111",
            "text": "pay rent",
            "due_at": _soon(),
            "client_key": "rent-1",
        }
        status, created = await api.call("POST", f"{LINES}/{line}/reminders", body)
        assert status == 201
        assert created["recipient"] == "15550001111@s.whatsapp.net"
        again_status, again = await api.call("POST", f"{LINES}/{line}/reminders", body)
        assert (again_status, again["id"]) == (200, created["id"])
        await api.call(
            "POST",
            f"{LINES}/{line}/reminders",
            {"recipient": "15550001111", "text": "later", "delay_seconds": 7200},
        )
        status, listed = await api.call("GET", f"{LINES}/{line}/reminders?status=pending")
        assert [r["text"] for r in listed["reminders"]] == ["pay rent", "later"]
        until = (datetime.now(UTC) + timedelta(seconds=5400)).isoformat().replace("+00:00", "Z")
        status, listed = await api.call("GET", f"{LINES}/{line}/reminders?due_to={until}")
        assert [r["text"] for r in listed["reminders"]] == ["pay rent"]
        rid = created["id"]
        status, edited = await api.call(
            "PATCH", f"{LINES}/{line}/reminders/{rid}", {"text": "pay the rent"}
        )
        assert (status, edited["text"]) == (200, "pay the rent")
        status, cancelled = await api.call("DELETE", f"{LINES}/{line}/reminders/{rid}")
        assert (status, cancelled["status"]) == (200, "cancelled")
        status, problem = await api.call(
            "PATCH", f"{LINES}/{line}/reminders/{rid}", {"text": "again"}
        )
        assert (status, problem["code"]) == (409, "conflict")
        status, fetched = await api.call("GET", f"{LINES}/{line}/reminders/{rid}")
        assert fetched["status"] == "cancelled"


class TestRepeat:
    """A repeating reminder produces its occurrences, each sent once, and stops at its end."""

    async def test_every_second_three_times(
        self, api: Api, spawn: Callable[..., WorkerProcess], database_url: str
    ) -> None:
        line = await _line(api, webhook_url="http://127.0.0.1:9/hook")
        worker = spawn(line)
        worker.wait_registered()
        await scan(api, line)
        body = {
            "recipient": "15550001111",
            "text": "tick",
            "delay_seconds": 0,
            "repeat": {"every": 1, "unit": "seconds", "count": 3},
        }
        status, _ = await api.call("POST", f"{LINES}/{line}/reminders", body)
        assert status == 201
        async with asyncio.timeout(20):
            while True:
                _, listed = await api.call("GET", f"{LINES}/{line}/reminders?status=sent")
                if len(listed["reminders"]) == 3:
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)
        _, everything = await api.call("GET", f"{LINES}/{line}/reminders")
        assert [(r["occurrence"], r["status"]) for r in everything["reminders"]] == [
            (1, "sent"),
            (2, "sent"),
            (3, "sent"),
        ]
        due = [
            datetime.fromisoformat(r["due_at"].replace("Z", "+00:00"))
            for r in everything["reminders"]
        ]
        assert [round((b - a).total_seconds()) for a, b in itertools.pairwise(due)] == [
            1,
            1,
        ]
        _, sent = await api.call("GET", f"{LINES}/{line}/sandbox/sent")
        assert [m["text"] for m in sent["messages"]] == ["tick", "tick", "tick"]
        with psycopg.connect(database_url) as conn:
            events = conn.execute(
                "SELECT count(*) FROM wamesh.webhook_deliveries WHERE session_id = %s AND event_type = 'reminder.sent'",
                (line,),
            ).fetchone()
        assert events == (3,)

    async def test_until_stops_the_series(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _line(api)
        spawn(line).wait_registered()
        await scan(api, line)
        until = (datetime.now(UTC) + timedelta(seconds=2.5)).isoformat()
        body = {
            "recipient": "15550001111",
            "text": "tock",
            "delay_seconds": 0,
            "repeat": {"every": 1, "unit": "seconds", "until": until},
        }
        await api.call("POST", f"{LINES}/{line}/reminders", body)
        await asyncio.sleep(5)
        _, everything = await api.call("GET", f"{LINES}/{line}/reminders")
        assert [r["status"] for r in everything["reminders"]] == ["sent", "sent", "sent"]


class TestPromptness:
    """A reminder that is already due goes out at once, not at the next poll: the gateway that
    created it wakes the line's worker (no LISTEN connection per line)."""

    async def test_the_gateway_wakes_the_worker(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _line(api)
        spawn(line, REMINDER_POLL_MS="60000").wait_registered()
        await scan(api, line)
        await asyncio.sleep(1)
        started = asyncio.get_running_loop().time()
        _, created = await api.call(
            "POST",
            f"{LINES}/{line}/reminders",
            {"recipient": "15550001111", "text": "now", "delay_seconds": 0},
        )
        async with asyncio.timeout(5):
            while (await api.call("GET", f"{LINES}/{line}/reminders/{created['id']}"))[1][
                "status"
            ] != "sent":
                await asyncio.sleep(0.05)
        assert asyncio.get_running_loop().time() - started < 3
