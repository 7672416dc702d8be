"""A warning repeated during an outage is said once per interval, with the count held back."""

from __future__ import annotations

import logging

import pytest

from wamesh import logs
from wamesh.logs import OncePer


class Clock:
    """time.monotonic, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(logs.time, "monotonic", fake)
    return fake


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "test.once"]


class TestOncePer:
    """Once per interval, then the count of the ones held back; recovery said only after trouble."""

    def test_one_warning_per_interval_then_the_count(
        self, clock: Clock, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)
        trouble = OncePer(logging.getLogger("test.once"), 60.0)
        for _ in range(30):  # 30 retries within a minute
            trouble.warning("down (%s)", "OperationalError")
            clock.now += 1.9
        assert said(caplog) == ["down (OperationalError)"]
        clock.now += 5
        trouble.warning("down (%s)", "PoolTimeout")
        assert said(caplog)[1:] == ["down (PoolTimeout) (29 more like it since the last)"]

    def test_recovery_is_said_once_and_only_after_a_warning(
        self, clock: Clock, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)
        trouble = OncePer(logging.getLogger("test.once"), 60.0)
        trouble.recovered("fine again")
        assert said(caplog) == []
        trouble.warning("down")
        trouble.recovered("fine again")
        trouble.recovered("fine again")
        clock.now += 1
        trouble.warning("down")  # a new outage is said at once
        assert said(caplog) == ["down", "fine again", "down"]
