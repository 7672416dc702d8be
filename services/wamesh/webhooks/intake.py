"""Kicked ids from many stream messages, claimed by a couple of loops in batches as large as the
free places allow.

When every message claimed its own ids, dozens of small claims ran at once and queued behind each
other in PostgreSQL (measured: claims of a few rows taking 20 ms, and the rate falling as they
grew more numerous). CLAIMERS loops make claims as large as the places free at that moment: while
one claim runs, the next batch gathers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from wamesh.webhooks.slots import Slots

T = TypeVar("T")
_LOGGER = logging.getLogger(__name__)
CLAIMERS = 2  # one claim gathers its batch while the other runs


class _Entry:
    """One caller's ids not yet claimed, and the future it waits on."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = deque(ids)
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class Intake(Generic[T]):
    """`submit(ids)` returns once those ids have been claimed (or found not claimable)."""

    def __init__(
        self,
        slots: Slots,
        claim: Callable[[list[str]], Awaitable[list[T]]],
        start: Callable[[list[T], int], None],
    ) -> None:
        self._slots = slots
        self._claim = claim
        self._start = start  # gets the claimed rows and the places taken for the batch
        self._backlog: deque[_Entry] = deque()
        self._pending = 0
        self._arrived = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def submit(self, ids: Sequence[str]) -> None:
        """Queue `ids` for claiming and wait until the claimer has taken them all."""
        if not ids:
            return
        self._ensure_claimers()
        entry = _Entry(ids)
        self._backlog.append(entry)
        self._pending += len(ids)
        self._arrived.set()
        await asyncio.shield(entry.done)

    def _ensure_claimers(self) -> None:
        """Start the claim loops, and replace any that ended (a bug must not stall delivery)."""
        alive = [task for task in self._tasks if not task.done()]
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                _LOGGER.error("a claim loop ended", exc_info=task.exception())
        while len(alive) < CLAIMERS:
            alive.append(asyncio.create_task(self._run(), name="webhook-claims"))
        self._tasks = alive

    async def stop(self) -> None:
        """Stop claiming; callers still waiting get CancelledError."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for entry in self._backlog:
            entry.done.cancel()

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            got = await self._slots.take(self._pending)
            batch, touched = self._pop(got)
            if not batch:  # the other loop took them while this one waited
                self._slots.give(got)
                continue
            try:
                claimed = await self._claim(batch)
            except Exception as exc:  # the callers whose ids were in the batch learn of it
                self._slots.give(got)
                self._fail(touched, exc)
                continue
            self._start(claimed, got)
            for entry in touched:
                if not entry.ids and not entry.done.done():
                    entry.done.set_result(None)

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
        if not self._backlog:
            self._arrived.clear()
        return batch, touched

    def _fail(self, touched: list[_Entry], exc: Exception) -> None:
        for entry in touched:
            if entry.ids:  # a partly taken caller gives up the rest (the reconciler re-kicks)
                self._backlog.remove(entry)
                self._pending -= len(entry.ids)
                entry.ids.clear()
            if not entry.done.done():
                entry.done.set_exception(exc)
        if not self._backlog:
            self._arrived.clear()
