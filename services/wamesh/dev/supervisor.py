"""One session worker process per line, for `wamesh dev`.

At start it runs a worker for every line; it LISTENs on `wamesh_sessions` (a trigger NOTIFYs on
insert, status change and delete), so a new line gets its worker at once and a deleted line's
worker is stopped. A crashed worker restarts with back-off (see children.Child); a worker that
exits because its line was deleted is not restarted. Only lines that want a worker
(`desired_state` started, migration 0010) get one: stopping a line stops its worker, starting it
starts one (the trigger notifies desired-state changes too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path

import psycopg

from wamesh.constants import (
    DB_SCHEMA_DEFAULT,
    DESIRED_STARTED,
    DESIRED_STOPPED,
    NOTIFY_SESSIONS_CHANNEL,
)
from wamesh.db.pool import cursor_class
from wamesh.dev.children import Child, wamesh_command

_LOGGER = logging.getLogger(__name__)
EXIT_DELETED = 4
RESYNC_INTERVAL_S = 30.0


class LineSupervisor:
    """Keeps the set of worker processes equal to the set of lines."""

    def __init__(
        self,
        database_url: str,
        env: dict[str, str],
        log_dir: Path,
        schema: str = DB_SCHEMA_DEFAULT,
    ) -> None:
        self._database_url = database_url
        self._schema = schema
        self._env = env
        self._log_dir = log_dir
        self.workers: dict[str, Child] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start workers for every line, then follow changes."""
        self._task = asyncio.create_task(self._follow(), name="line-supervisor")

    async def stop(self) -> None:
        """Stop following, then stop every worker (SIGTERM, in parallel)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*(w.stop() for w in self.workers.values()))
        self.workers.clear()

    async def _follow(self) -> None:
        while True:
            try:
                await self._listen()
            except psycopg.OperationalError as exc:
                _LOGGER.warning("lost the database connection (%s); reconnecting", exc)
                await asyncio.sleep(1)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self._database_url, autocommit=True, cursor_factory=cursor_class(self._schema)
        ) as conn:
            await conn.execute(f"LISTEN {NOTIFY_SESSIONS_CHANNEL}")
            await self._sync(conn)
            while True:
                gen = conn.notifies(timeout=RESYNC_INTERVAL_S)
                async for note in gen:
                    self._apply(json.loads(note.payload))
                await self._sync(conn)

    async def _sync(self, conn: psycopg.AsyncConnection[tuple[str]]) -> None:
        cursor = await conn.execute(
            "SELECT id::text FROM wamesh.sessions WHERE desired_state = %s", (DESIRED_STARTED,)
        )
        lines = {row[0] for row in await cursor.fetchall()}
        for line in lines - set(self.workers):
            self._start_worker(line)
        for line in set(self.workers) - lines:
            await self._stop_worker(line)

    def _apply(self, note: dict[str, str]) -> None:
        line = note["id"]
        if note["op"] == "INSERT" and line not in self.workers:
            if note.get("desired_state", DESIRED_STARTED) != DESIRED_STARTED:
                return
            self._start_worker(line)
        elif (note["op"] == "DELETE" and line in self.workers) or (
            note.get("desired_state") == DESIRED_STOPPED and line in self.workers
        ):
            asyncio.create_task(self._stop_worker(line))  # noqa: RUF006 - stop awaits itself
        elif note.get("desired_state") == DESIRED_STARTED and line not in self.workers:
            self._start_worker(line)

    def _start_worker(self, line: str) -> None:
        _LOGGER.info("starting the worker of line %s", line)
        worker = Child(
            f"session-{line}",
            wamesh_command("session", "--id", line),
            self._env,
            self._log_dir,
            final_codes=frozenset({EXIT_DELETED}),
            on_exit=self._exited,
        )
        self.workers[line] = worker
        worker.start()

    def _exited(self, child: Child, code: int) -> None:
        if code == EXIT_DELETED:
            self.workers.pop(child.name.removeprefix("session-"), None)

    async def _stop_worker(self, line: str) -> None:
        worker = self.workers.pop(line, None)
        if worker is not None:
            _LOGGER.info("stopping the worker of deleted line %s", line)
            await worker.stop()
