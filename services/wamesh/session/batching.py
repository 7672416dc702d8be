"""Group an async stream into batches of what is already waiting (group commit).

A reader task pulls items from the source into a bounded queue; each batch is the first item
waited for plus everything that arrived meanwhile, up to `limit`. While the consumer writes one
batch, the next one gathers, so batches grow with the load by themselves: one item at a time
when the line is quiet, hundreds when it is busy. The queue bound keeps back-pressure on the
source.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

T = TypeVar("T")
QUEUE_LIMIT = 2_000
_END = object()


async def batches(source: AsyncIterator[T], limit: int) -> AsyncGenerator[list[T], None]:
    """The items of `source`, in order, in lists of at most `limit`."""
    queue: asyncio.Queue[object] = asyncio.Queue(QUEUE_LIMIT)

    async def read() -> None:
        try:
            async for item in source:
                await queue.put(item)
        except Exception:
            await queue.put(_END)  # the consumer ends, then `await reader` raises this
            raise
        await queue.put(_END)

    reader = asyncio.create_task(read(), name="batches-reader")
    try:
        while True:
            first = await queue.get()
            if first is _END:
                break
            batch: list[T] = [first]  # type: ignore[list-item]
            ended = False
            while len(batch) < limit and not queue.empty():
                item = queue.get_nowait()
                if item is _END:
                    ended = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            yield batch
            if ended:
                break
        await reader  # surfaces an error of the source
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
