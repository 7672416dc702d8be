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

A delivered outcome needs no answer before its attempt ends (nothing follows it), so a batch of
only those is sent and not waited for (`confirm=False`): PostgreSQL commits it as soon as it has
it, exactly as when waited for, and its answer is read before the next batch goes on the same
connection, or after COLLECT_S at the latest (then the connection goes back to the pool). At low
rates that saves the wake-up for the answer and psycopg's cursor work, about a third of a
delivery's CPU (measured). An answer that says the write failed is logged: those rows keep their
claim, which expires, and they are delivered again, as when a waited-for write fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from psycopg import AsyncConnection
from psycopg import errors as pg_errors
from psycopg.generators import fetch_many, send
from psycopg.pq import ExecStatus

from wamesh.db.pool import Pool

_LOGGER = logging.getLogger(__name__)
MAX_BATCH = 200
COLLECT_S = 1.0  # the answer of a batch sent without waiting is read by then at the latest
# A queued caller's future: True once its row is committed, False when it is to write the next
# batch (its own row first).
_Item = tuple[dict[str, Any], "asyncio.Future[bool]", bool]  # row, its caller, confirm
_Batched = tuple[dict[str, Any], "asyncio.Future[bool] | None", bool]  # None: the writer's own


class OutcomeWriter:
    """Batches rows for one statement whose one parameter, `rows`, is the batch as JSON."""

    def __init__(self, pool: Pool, statement: str) -> None:
        self._pool = pool
        self._statement = statement
        self._queue: list[_Item] = []
        self._writing = False
        self._sql: bytes | None = None
        self._held: AsyncConnection[Any] | None = None  # its last batch's answer is unread
        self._unread = 0  # rows of that batch
        self._timer: asyncio.TimerHandle | None = None
        self._collector: asyncio.Task[None] | None = None

    async def write(self, row: dict[str, Any], *, confirm: bool = True) -> None:
        """Write `row` (with what queued meanwhile) and return once it is committed, or, with
        `confirm=False`, once it is sent (see the module's docstring)."""
        if not self._writing:
            self._writing = True
            await self._write([(row, None, confirm), *self._take()])  # cancelled callers' rows
            return
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((row, done, confirm))
        try:
            committed = await done
        except asyncio.CancelledError:
            if done.done() and not done.cancelled() and not done.result():
                self._hand_over()  # it was to write the next batch: the next in line does
            raise
        if not committed:
            await self._write(self._take())

    async def stop(self) -> None:
        """Read the last answer and give its connection back; callers still queued get
        CancelledError (on shutdown, after the drain)."""
        for _, done, _ in self._queue:
            done.cancel()
        self._queue.clear()
        if self._timer is not None:
            self._timer.cancel()
        if not self._writing and self._held is not None:
            self._writing = True
            try:
                await self._release(await self._connection())
            finally:
                self._writing = False

    def _take(self) -> list[_Batched]:
        batch = self._queue[:MAX_BATCH]
        del self._queue[:MAX_BATCH]
        return list(batch)

    async def _write(self, batch: list[_Batched]) -> None:
        """Write `batch` (the caller's row among them), settle the others, then hand over."""
        try:
            rows = json.dumps([r for r, _, _ in batch], separators=(",", ":")).encode()
            try:
                await self._send(rows, len(batch), confirm=any(c for _, _, c in batch))
            except Exception as exc:  # every caller of the batch learns of the failure
                _settle(batch, exc)
                raise
            _settle(batch, None)
        finally:
            self._hand_over()

    async def _send(self, rows: bytes, count: int, *, confirm: bool) -> None:
        """Send one batch; read its answer now (`confirm`) or later."""
        conn = await self._connection()
        try:
            async with conn.lock:
                conn.pgconn.send_query_params(self._statement_for(conn), [rows])
                await conn.wait(send(conn.pgconn))
            if confirm:
                await self._answer(conn)
        except BaseException:
            await self._release(conn)
            raise
        if confirm:
            await self._release(conn)
            return
        self._held, self._unread = conn, count
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(COLLECT_S, self._collect_soon)

    async def _connection(self) -> AsyncConnection[Any]:
        """The held connection once its last answer is read (a failure is logged), else one
        from the pool."""
        conn, self._held = self._held, None
        if conn is None:
            return await self._pool.getconn()
        try:
            await self._answer(conn)
        except Exception as exc:
            _LOGGER.error(
                "the outcomes of %d webhook attempts were not recorded (%s); their claims expire"
                " and they are delivered again",
                self._unread,
                type(exc).__name__,
            )
        if conn.broken or conn.closed:
            await self._release(conn)
            return await self._pool.getconn()
        return conn

    async def _answer(self, conn: AsyncConnection[Any]) -> None:
        """Read the answer of the batch sent on `conn`; raise what it says went wrong."""
        async with conn.lock:
            conn.pgconn.consume_input()  # an answer already here is read without a wait
            results = await conn.wait(fetch_many(conn.pgconn))
        for result in results:
            if result.status != ExecStatus.COMMAND_OK:
                raise pg_errors.error_from_result(result, encoding=conn.info.encoding)

    async def _release(self, conn: AsyncConnection[Any]) -> None:
        await self._pool.putconn(conn)

    def _collect_soon(self) -> None:
        """COLLECT_S after a batch was sent without waiting: read the answer and give the
        connection back, unless a write under way does it."""
        self._timer = None
        if self._held is not None and not self._writing:
            self._collector = asyncio.create_task(self._collect(), name="webhook-outcome-answer")

    async def _collect(self) -> None:
        if self._writing or self._held is None:
            return
        self._writing = True
        try:
            await self._release(await self._connection())
        finally:
            self._hand_over()

    def _statement_for(self, conn: AsyncConnection[Any]) -> bytes:
        """The statement as the connection's cursors would send it (the pool's schema), with
        its one parameter as `$1`."""
        if self._sql is None:
            rewrite = getattr(conn.cursor_factory, "statements", None)
            text = rewrite(self._statement) if rewrite is not None else self._statement
            self._sql = text.replace("%(rows)s", "$1").encode()
        return self._sql

    def _hand_over(self) -> None:
        """The first caller still waiting writes the next batch (with the rows of callers
        cancelled before it); none: no write is under way, and the next caller writes them."""
        for _, done, _ in self._queue:
            if not done.done():
                done.set_result(False)
                return
        self._writing = False


def _settle(batch: list[_Batched], error: Exception | None) -> None:
    for _, done, _ in batch:
        if done is None or done.done():
            continue
        if error is None:
            done.set_result(True)
        else:
            done.set_exception(error)
