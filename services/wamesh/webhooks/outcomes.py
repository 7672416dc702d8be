"""Write attempt outcomes in batches: one statement, one round trip, for every outcome that
arrived while the previous batch was being written.

The statement takes the batch as one JSON array of rows (`json_to_recordset`), so a batch of 200
outcomes costs PostgreSQL one plan and one execution, not 200 (measured: the per-row pipelined
version kept a core of PostgreSQL busy at a fraction of the plain POST loop's rate), and the
worker one `json.dumps` (psycopg's dumper of nine arrays cost more CPU than the rest of a
one-row write, measured). Each caller waits until its own outcome is committed, so what follows
it (a retry timer, a log line) only happens once the row says so.

No task of its own: the caller that finds no write under way writes its outcome itself, at once
(under light load a batch is that one outcome, with no hand-off to another task and back); those
that come while a write is under way queue, and the first of them writes the queue's batch next.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wamesh.db.pool import Pool

MAX_BATCH = 200
# A queued caller's future: True once its row is committed, False when it is to write the next
# batch (its own row first).
_Item = tuple[dict[str, Any], "asyncio.Future[bool]"]
_Batched = tuple[dict[str, Any], "asyncio.Future[bool] | None"]  # None: the writing caller's


class OutcomeWriter:
    """Batches rows for one statement whose one parameter, `rows`, is the batch as JSON."""

    def __init__(self, pool: Pool, statement: str) -> None:
        self._pool = pool
        self._statement = statement
        self._queue: list[_Item] = []
        self._writing = False

    async def write(self, row: dict[str, Any]) -> None:
        """Write `row` (with what queued meanwhile) and return once it is committed."""
        if not self._writing:
            self._writing = True
            await self._write([(row, None), *self._take()])  # rows left by cancelled callers
            return
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((row, done))
        try:
            committed = await done
        except asyncio.CancelledError:
            if done.done() and not done.cancelled() and not done.result():
                self._hand_over()  # it was to write the next batch: the next in line does
            raise
        if not committed:
            await self._write(self._take())

    def stop(self) -> None:
        """Callers still queued get CancelledError (on shutdown, after the drain)."""
        for _, done in self._queue:
            done.cancel()
        self._queue.clear()

    def _take(self) -> list[_Batched]:
        batch = self._queue[:MAX_BATCH]
        del self._queue[:MAX_BATCH]
        return list(batch)

    async def _write(self, batch: list[_Batched]) -> None:
        """Write `batch` (the caller's row among them), settle the others, then hand over."""
        try:
            rows = json.dumps([r for r, _ in batch], separators=(",", ":"))
            try:
                async with self._pool.connection() as conn:
                    await conn.execute(self._statement, {"rows": rows})
            except Exception as exc:  # every caller of the batch learns of the failure
                _settle(batch, exc)
                raise
            _settle(batch, None)
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        """The first caller still waiting writes the next batch (with the rows of callers
        cancelled before it); none: no write is under way, and the next caller writes them."""
        for _, done in self._queue:
            if not done.done():
                done.set_result(False)
                return
        self._writing = False


def _settle(batch: list[_Batched], error: Exception | None) -> None:
    for _, done in batch:
        if done is None or done.done():
            continue
        if error is None:
            done.set_result(True)
        else:
            done.set_exception(error)
