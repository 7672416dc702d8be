"""Write attempt outcomes in batches: one statement, one round trip, for every outcome that
arrived while the previous batch was being written.

The statement takes each field as an array (`unnest`), so a batch of 200 outcomes costs
PostgreSQL one plan and one execution, not 200 (measured: the per-row pipelined version kept a
core of PostgreSQL busy at a fraction of the plain POST loop's rate). Each caller waits until its
own outcome is committed, so what follows it (a retry timer, a log line) only happens once the
row says so. Under light load a batch is a single outcome, written at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from wamesh.db.pool import Pool

MAX_BATCH = 200
_Item = tuple[dict[str, Any], "asyncio.Future[None]"]


def columns(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    """Rows of named values as one list per name (the parameters of an `unnest` statement)."""
    return {name: [row[name] for row in rows] for name in names}


class OutcomeWriter:
    """Batches rows for one statement whose parameters are the rows' columns as arrays."""

    def __init__(self, pool: Pool, statement: str, names: Sequence[str]) -> None:
        self._pool = pool
        self._statement = statement
        self._names = tuple(names)
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def write(self, row: dict[str, Any]) -> None:
        """Queue `row` and wait until it is committed."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="webhook-outcomes")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((row, done))
        await done

    async def stop(self) -> None:
        """Stop the writer (callers still waiting get CancelledError)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._pool.connection() as conn:
                    await conn.execute(self._statement, columns([r for r, _ in batch], self._names))
            except Exception as exc:  # every waiting caller learns of the failure
                _settle(batch, exc)
                continue
            _settle(batch, None)


def _settle(batch: list[_Item], error: Exception | None) -> None:
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
