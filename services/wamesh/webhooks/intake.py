"""Kicked ids and waiting rows, claimed by one loop in batches as large as the free places allow.

When every message claimed its own ids, dozens of small claims ran at once and queued behind each
other in PostgreSQL (measured: claims of a few rows taking 20 ms, and the rate falling as they
grew more numerous). One loop makes claims as large as the places free at that moment; while a
claim runs, the next batch gathers. One loop, not several, because each claim is told every
line's free places (`lanes`): two claims at once would both use the same room.

A batch is rows waiting in `lanes` that now have a place (reserved first), then newly kicked ids.
The claim answers which rows it took, which wait (their line had no room: they join its lane), and
drops the rest (delivered, claimed elsewhere, or not due: a timer or the reconciler kicks those).
`submit(ids)` returns once its ids have been sorted so, and the stream message is then acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from wamesh.webhooks.lanes import Lanes, Picked, Rooms
from wamesh.webhooks.slots import Slots

_LOGGER = logging.getLogger(__name__)
CLAIM_RETRY_S = 0.5  # after a failed claim, before waiting rows are tried again


class Row(Protocol):
    """A claimed row, as far as places are concerned."""

    @property
    def id(self) -> str: ...
    @property
    def session_id(self) -> str: ...
    @property
    def webhook_url(self) -> str | None: ...


R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class Sorted(Generic[R]):
    """What a claim made of a batch: the rows it claimed, and those that wait for a place of
    their line, as (id, line, url). Rows in neither were not claimable."""

    claimed: list[R]
    waiting: list[tuple[str, str, str | None]]


class _Entry:
    """One caller's ids not yet claimed, and the future it waits on."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = deque(ids)
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class Intake(Generic[R]):
    """`submit(ids)` returns once those ids have been claimed, queued in their lane, or dropped."""

    def __init__(
        self,
        slots: Slots,
        lanes: Lanes,
        claim: Callable[[list[str], list[str], Rooms], Awaitable[Sorted[R]]],
        start: Callable[[list[R]], None],
    ) -> None:
        self._slots = slots
        self._lanes = lanes
        self._claim = claim
        self._start = start  # gets the claimed rows, each already counted in `lanes`
        self._backlog: deque[_Entry] = deque()
        self._pending = 0
        self._wake = asyncio.Event()
        self._turn = asyncio.Lock()  # one claim at a time: each is told every line's room
        self._task: asyncio.Task[None] | None = None

    async def submit(self, ids: Sequence[str]) -> None:
        """Queue `ids` for claiming and wait until they are all sorted. When no claim is under
        way the caller claims them itself, at once: no hand-off to the claim loop and back (two
        wake-ups a kick, measured, at low rates where each kick is its own batch)."""
        if not ids:
            return
        self._ensure_claimer()
        entry = _Entry(ids)
        self._backlog.append(entry)
        self._pending += len(ids)
        if self._turn.locked():
            self._wake.set()  # the claim loop takes it
        else:
            async with self._turn:
                try:
                    while not entry.done.done() and await self._round():
                        pass
                except Exception as exc:  # a bug: as when the claim loop ends
                    _LOGGER.exception("a claim round failed")
                    self._fail_all(exc)
                    if not entry.done.done():  # taken from the backlog already
                        entry.done.set_exception(exc)
            if self._pending or self._lanes.waiting:
                self.wake()  # what came meanwhile
        await asyncio.shield(entry.done)

    def wake(self) -> None:
        """Look again: a place was freed, or a paused endpoint may be probed."""
        self._ensure_claimer()
        self._wake.set()

    def freed(self) -> None:
        """A place was freed: look again if anything waits for one (a claim waiting for a place
        is woken by `slots` itself)."""
        if self._pending or self._lanes.waiting:
            self.wake()

    def _ensure_claimer(self) -> None:
        """Start the claim loop, and replace it if it ended (a bug must not stall delivery)."""
        if self._task is not None and not self._task.done():
            return
        if self._task is not None and not self._task.cancelled() and self._task.exception():
            _LOGGER.error("the claim loop ended", exc_info=self._task.exception())
            self._fail_all(RuntimeError("the claim loop ended"))
        self._task = asyncio.create_task(self._run(), name="webhook-claims")

    def _fail_all(self, exc: Exception) -> None:
        """Every caller waiting learns of `exc`; their rows are re-kicked (the reconciler)."""
        for entry in self._backlog:
            if not entry.done.done():
                entry.done.set_exception(exc)
        self._backlog.clear()
        self._pending = 0

    async def stop(self) -> None:
        """Stop claiming; callers still waiting get CancelledError."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for entry in self._backlog:
            entry.done.cancel()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            async with self._turn:
                while await self._round():
                    pass

    async def _round(self) -> bool:
        """Claim one batch; False when there is nothing that could be claimed now."""
        wanted = self._pending + self._lanes.ready()
        if wanted == 0:
            return False
        got = await self._slots.take(wanted)
        picked = self._lanes.pick(got)
        fresh, touched = self._pop(got - len(picked))
        if not picked and not fresh:
            self._slots.give(got)
            return False
        try:
            result = await self._claim([p.id for p in picked], fresh, self._lanes.rooms())
        except Exception as exc:
            self._unreserve(picked)
            self._slots.give(got)
            self._fail(touched, exc)
            await asyncio.sleep(CLAIM_RETRY_S)
            return True
        self._sort(result, picked, got)
        for entry in touched:
            if not entry.ids and not entry.done.done():
                entry.done.set_result(None)
        return True

    def _sort(self, result: Sorted[R], picked: list[Picked], got: int) -> None:
        """Waiting rows to their lanes; reservations kept for the claimed picks and given back
        for the others; claimed new rows counted; unused places given back."""
        for delivery_id, line, url in result.waiting:
            self._lanes.wait(delivery_id, line, url)
        reserved = {p.id: p for p in picked}
        for row in result.claimed:
            if reserved.pop(row.id, None) is None:
                self._lanes.take(row.session_id, row.webhook_url)
        self._unreserve(list(reserved.values()))
        self._slots.give(got - len(result.claimed))
        self._start(result.claimed)

    def _unreserve(self, picked: list[Picked]) -> None:
        for p in picked:
            self._lanes.release(p.line, p.url)

    def _pop(self, count: int) -> tuple[list[str], list[_Entry]]:
        batch: list[str] = []
        touched: list[_Entry] = []
        while self._backlog and len(batch) < count:
            entry = self._backlog[0]
            touched.append(entry)
            while entry.ids and len(batch) < count:
                batch.append(entry.ids.popleft())
            if not entry.ids:
                self._backlog.popleft()
        self._pending -= len(batch)
        return batch, touched

    def _fail(self, touched: list[_Entry], exc: Exception) -> None:
        for entry in touched:
            if entry.ids:  # a partly taken caller gives up the rest (the reconciler re-kicks)
                self._backlog.remove(entry)
                self._pending -= len(entry.ids)
                entry.ids.clear()
            if not entry.done.done():
                entry.done.set_exception(exc)
