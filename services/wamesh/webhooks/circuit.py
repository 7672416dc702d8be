"""A circuit per webhook endpoint (URL): how many attempts it may have in flight right now.

An endpoint earns its line's full share (WEBHOOK_PER_SESSION_INFLIGHT) by answering: one new to
this process, or one whose last attempt failed, gets one attempt at a time (so 25 hanging
endpoints hold 25 places, not 125). WEBHOOK_CIRCUIT_FAILURES failures in a row (timeouts,
connection errors, 5xx, 408/425/429) open the circuit: the endpoint gets no attempt for
WEBHOOK_CIRCUIT_PAUSE_MS, doubling per pause up to WEBHOOK_CIRCUIT_MAX_PAUSE_MS, and its rows wait
in the worker's memory, holding no place and writing nothing. After a pause one attempt probes it:
an answer closes the circuit, a failure pauses it again, longer. Any answer other than a retryable
one (2xx, other 4xx, 410) counts as the endpoint being up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class State(Enum):
    """A circuit's state, as the delivery log and metrics show it."""

    CLOSED = "closed"  # answering: the line's full share
    PROBING = "probing"  # new, or failed lately: one attempt at a time
    OPEN = "open"  # paused: no attempt until `paused_until`


@dataclass
class _Circuit:
    failures: int = 0  # in a row
    pauses: int = 0  # in a row, for the back-off
    paused_until: float = 0.0  # monotonic
    proven: bool = False


@dataclass(frozen=True)
class Change:
    """A circuit changed state: what to record (in `webhook_endpoints`) and say."""

    url: str
    state: State
    failures: int
    pause_s: float


class Circuits:
    """Every endpoint's circuit in this process."""

    def __init__(
        self,
        failures: int,
        pause_s: float,
        max_pause_s: float,
        wide: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failures
        self._pause_s = pause_s
        self._max_pause_s = max(pause_s, max_pause_s)
        self._wide = wide
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}
        self._closed: dict[str, None] = {}  # proven, no failure since: allowance `wide`
        self._closed_list: list[str] = []  # the same, a new list object after each change

    @property
    def wide(self) -> int:
        """The allowance of a closed circuit."""
        return self._wide

    def closed(self) -> list[str]:
        """The endpoints whose circuit is closed (do not modify: the same list object until the
        set changes, so a caller may cache what it makes of it)."""
        return self._closed_list

    def unsettled(self) -> list[str]:
        """The known endpoints whose circuit is not closed (probing or open)."""
        return [url for url in self._circuits if url not in self._closed]

    def _mark(self, url: str, closed: bool) -> None:
        if closed == (url in self._closed):
            return
        if closed:
            self._closed[url] = None
        else:
            del self._closed[url]
        self._closed_list = list(self._closed)

    def allowance(self, url: str) -> int:
        """How many attempts `url` may have in flight now (before the line's own cap)."""
        circuit = self._circuits.get(url)
        if circuit is None:
            return 1
        if circuit.paused_until > self._clock():
            return 0
        return self._wide if circuit.proven and circuit.failures == 0 else 1

    def state(self, url: str) -> State:
        """The circuit's state now."""
        allowed = self.allowance(url)
        if allowed == 0:
            return State.OPEN
        return State.CLOSED if allowed == self._wide else State.PROBING

    def known(self) -> list[str]:
        """The endpoints seen so far."""
        return list(self._circuits)

    def answered(self, url: str) -> Change | None:
        """The endpoint answered: close its circuit (a Change when it was not closed)."""
        circuit = self._circuits.setdefault(url, _Circuit())
        was_failing = circuit.failures > 0 or circuit.pauses > 0
        circuit.failures, circuit.pauses, circuit.paused_until = 0, 0, 0.0
        circuit.proven = True
        self._mark(url, True)
        return Change(url, State.CLOSED, 0, 0.0) if was_failing else None

    def failed(self, url: str) -> Change | None:
        """The endpoint failed: a Change (with the pause) when that opened its circuit."""
        circuit = self._circuits.setdefault(url, _Circuit())
        circuit.failures += 1
        self._mark(url, False)
        if circuit.failures < self._threshold:
            return None
        pause = min(self._max_pause_s, self._pause_s * 2.0**circuit.pauses)
        pause *= 1 + random.random() / 10  # endpoints paused together do not all probe together
        circuit.pauses += 1
        circuit.paused_until = self._clock() + pause
        return Change(url, State.OPEN, circuit.failures, pause)

    def forget(self, url: str) -> None:
        """Drop an endpoint's circuit (tests; a line's URL that changed)."""
        self._circuits.pop(url, None)
        self._mark(url, False)
