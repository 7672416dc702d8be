"""Write attempt outcomes in batches: one round trip (a pipelined executemany) for every outcome
that arrived while the previous batch was being written.

Each caller waits until its own outcome is committed, so what follows it (a retry timer, a log
line) only happens once the row says so. Under light load a batch is a single outcome, written at
once; under heavy load batches grow and PostgreSQL round trips stop being the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from wamesh.db.pool import Pool

MAX_BATCH = 200
_Item = tuple[dict[str, Any], "asyncio.Future[None]"]


class OutcomeWriter:
    """Batches one statement's parameter sets."""

    def __init__(self, pool: Pool, statement: str) -> None:
        self._pool = pool
        self._statement = statement
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def write(self, params: dict[str, Any]) -> None:
        """Queue `params` and wait until they are committed."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="webhook-outcomes")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((params, done))
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
                async with self._pool.connection() as conn, conn.cursor() as cursor:
                    await cursor.executemany(self._statement, [params for params, _ in batch])
            except Exception as exc:  # every waiting caller learns of the failure
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
