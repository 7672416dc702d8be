"""A counting limit that hands out as many places as are free at once.

`asyncio.Semaphore` takes one place per call; a claim of a batch of rows wants "up to n, at least
one, now". Taking all n before claiming held a whole batch back until every earlier attempt had
ended (batches moved in lockstep, measured at about a third of the plain loop's rate); taking what
is free keeps every place busy. Takers are served in arrival order.
"""

from __future__ import annotations

import asyncio


class Slots:
    """`capacity` places; `take(n)` waits for at least one and returns how many it got."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._free = capacity
        self._turn = asyncio.Lock()  # FIFO among takers: only the first in line waits for places
        self._waiter: asyncio.Future[None] | None = None

    @property
    def free(self) -> int:
        """Places not taken."""
        return self._free

    async def take(self, wanted: int) -> int:
        """Wait until a place is free, then take up to `wanted` of those free (at least one)."""
        if wanted < 1:
            return 0
        async with self._turn:
            while self._free == 0:
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
            got = min(wanted, self._free)
            self._free -= got
            return got

    def give(self, count: int = 1) -> None:
        """Return `count` places."""
        if count < 1:
            return
        self._free += count
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
