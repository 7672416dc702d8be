"""Each line's place in the worker: attempts in flight, and kicked rows waiting for a place.

A row is claimed only when its line has a free place (WEBHOOK_PER_SESSION_INFLIGHT, and what its
endpoint's circuit allows): the claim statement is told each line's room and claims no more, and
returns the other kicked rows with their line, read but not written. Those wait here, in kick
order, until their line has room; waiting costs no row update and holds no place. Lines take
turns (one row each per turn), so a line with a long backlog does not hold back a quiet one.

A worker that dies loses what waits here: the worker publishes the lines it holds rows for
(`holds`), the reconciler leaves their pending rows alone while the hold is fresh, and kicks
them again once it has lapsed.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from wamesh.webhooks.circuit import Circuits

LANE_MAX = 20_000  # rows waiting per line; beyond, the reconciler kicks them once the line drains


@dataclass
class _Lane:
    url: str | None
    ids: deque[str] = field(default_factory=deque)


@dataclass(frozen=True)
class Picked:
    """A waiting row given a place (reserved until it is claimed or released)."""

    id: str
    line: str
    url: str | None


@dataclass(frozen=True)
class Rooms:
    """What the claim statement may take per line and per endpoint for rows not waiting here:
    lines not listed get `line_default`; an endpoint not in `urls` gets `url_wide` when it is in
    `wide_urls` (its circuit is closed and it has nothing in flight), else `url_default`."""

    lines: list[str]
    line_rooms: list[int]
    urls: list[str]
    url_rooms: list[int]
    line_default: int
    url_default: int
    wide_urls: list[str] = field(default_factory=list)  # the circuits' list: do not modify
    url_wide: int = 0


class Lanes:
    """Places per line and per endpoint, and the rows waiting for them."""

    def __init__(self, cap: int, circuits: Circuits) -> None:
        self._cap = cap
        self._circuits = circuits
        self._lanes: dict[str, _Lane] = {}
        self._queued: set[str] = set()
        self._busy: Counter[str] = Counter()  # per line: in flight or reserved
        self._at: Counter[str] = Counter()  # per endpoint

    @property
    def waiting(self) -> int:
        """Rows waiting for a place."""
        return len(self._queued)

    @property
    def in_flight(self) -> int:
        """Rows in flight or reserved."""
        return sum(self._busy.values())

    def held_lines(self) -> list[str]:
        """Lines with rows waiting here."""
        return list(self._lanes)

    def room(self, line: str, url: str | None) -> int:
        """Free places of `line` now, within its endpoint's allowance."""
        free = self._cap - self._busy[line]
        if url:
            free = min(free, self._circuits.allowance(url) - self._at[url])
        return max(0, free)

    def ready(self) -> int:
        """Waiting rows that have a place now."""
        lanes = self._lanes.items()
        return sum(min(len(lane.ids), self.room(line, lane.url)) for line, lane in lanes)

    def wait(self, delivery_id: str, line: str, url: str | None) -> None:
        """Queue a kicked row of `line` until it has a place (once; beyond LANE_MAX, dropped)."""
        if delivery_id in self._queued:
            return
        lane = self._lanes.setdefault(line, _Lane(url))
        lane.url = url
        if len(lane.ids) >= LANE_MAX:
            return
        lane.ids.append(delivery_id)
        self._queued.add(delivery_id)

    def pick(self, limit: int) -> list[Picked]:
        """Up to `limit` waiting rows with a place, one per line per turn, each reserved."""
        picked: list[Picked] = []
        while len(picked) < limit:
            turn = [line for line, lane in self._lanes.items() if self.room(line, lane.url) > 0]
            if not turn:
                break
            for line in turn[: limit - len(picked)]:
                lane = self._lanes[line]
                delivery_id = lane.ids.popleft()
                self._queued.discard(delivery_id)
                self.take(line, lane.url)
                picked.append(Picked(delivery_id, line, lane.url))
                if not lane.ids:
                    del self._lanes[line]
            self._rotate(turn)
        return picked

    def _rotate(self, served: list[str]) -> None:
        """Move the lines just served behind the others (dicts keep insertion order)."""
        for line in served:
            lane = self._lanes.pop(line, None)
            if lane is not None:
                self._lanes[line] = lane

    def take(self, line: str, url: str | None) -> None:
        """Count an attempt of `line` in flight."""
        self._busy[line] += 1
        if url:
            self._at[url] += 1

    def release(self, line: str, url: str | None) -> None:
        """An attempt of `line` ended (or a reservation was not used)."""
        self._busy[line] -= 1
        if self._busy[line] <= 0:
            del self._busy[line]
        if url:
            self._at[url] -= 1
            if self._at[url] <= 0:
                del self._at[url]

    def rooms(self) -> Rooms:
        """Rooms for the rows of a claim that do not wait here: none for a line with rows
        waiting (they go first), else its free places."""
        lines = set(self._busy) | set(self._lanes)
        rooms = [0 if line in self._lanes else self.room(line, None) for line in lines]
        # Every closed endpoint goes as one list the circuits keep (it rarely changes, and so
        # costs no work per claim, measured: a call per endpoint per claim cost more than the
        # rest of a one-row claim at 100 lines); only the others and those in flight are listed.
        urls = set(self._circuits.unsettled()) | set(self._at)
        url_rooms = [max(0, self._circuits.allowance(u) - self._at[u]) for u in urls]
        wide = self._circuits.closed()
        return Rooms(
            list(lines), rooms, list(urls), url_rooms, self._cap, 1, wide, self._circuits.wide
        )
