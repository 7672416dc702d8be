"""The psycopg 3 connection pool every process opens once, sized by its role's budget.

Budgets (README, "Budgets"): a session worker holds 1 connection while idle and at most 2 under
load; the gateway and a webhook worker hold 1 while idle and at most WAMESH_DB_POOL_GATEWAY /
WAMESH_DB_POOL_WEBHOOKS. A connection above the idle minimum goes back to the server after
WAMESH_DB_IDLE_S unused.

Every connection is autocommit and carries no session state from one transaction to the next
(no SET, no LISTEN, no session advisory lock, no temporary table), so a pooler in transaction
mode (PgBouncer, Supabase's pooler on port 6543) may hand each transaction to another server
connection. Prepared statements are off when WAMESH_DB_PREPARE says so (`auto`: on port 6543).

When PostgreSQL (or the pooler) has no connection left, the error says so and names the settings
to change. A `patient` opener (a session worker) waits with jittered back-off instead of exiting,
logging once per attempt, at most every RETRY_MAX_S, while the server is full or cannot be
reached (restarting, not up yet, a network away); it still exits at once when waiting cannot help
(the URL's role, password or database is wrong), and stops waiting when its `stop` is set.

Outages (`Pool`, psycopg_pool's pool with three changes):
- The pool knows when the server is away: its last connect attempt failed (`unreachable` says
  why) and none has succeeded since. A request then waits at most UNREACHABLE_WAIT_S for a
  connection instead of the pool's whole timeout (10 s on a session worker), so a front answers
  503 `dependency_unavailable` within a second, with no health round trip per request.
- It reconnects every RECONNECT_MAX_S at most (jittered) for as long as the server is away,
  instead of psycopg_pool's doubling back-off (1, 2, 4 ... 64 s), which gave up after 5 minutes
  and left a pool without connections for tens of seconds after the server came back.
- A connection found broken (the server went away under it) drains the pool's idle ones, which
  died with it, so the requests after a restart do not meet them one by one.
psycopg_pool logs every failed connect attempt at WARNING; `_ConnectErrorsOncePer` lets one
through per TROUBLE_LOG_INTERVAL_S and pool, with the count held back, as the line's writes do.

Statements name their tables with wamesh's schema written out (`wamesh.sessions`); every
connection we open runs them through a `SchemaCursor` of its pool's schema (`cursor_class`),
which names WAMESH_DB_SCHEMA instead when it is another one (wamesh.db.schema: each statement
rewritten once and cached).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from psycopg import AsyncConnection, AsyncCursor, OperationalError
from psycopg.abc import Params, Query, QueryNoTemplate
from psycopg.rows import DictRow, Row, dict_row
from psycopg_pool import AsyncConnectionPool
from psycopg_pool.base import AttemptWithBackoff
from psycopg_pool.pool_async import MaintenanceTask, ShrinkPool

from wamesh.constants import DB_SCHEMA_DEFAULT, TROUBLE_LOG_INTERVAL_S
from wamesh.db.schema import Statements
from wamesh.errors import Unavailable
from wamesh.settings import Settings

_LOGGER = logging.getLogger(__name__)
SUPABASE_POOLER_PORT = 6543  # Supavisor's transaction mode
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
RECONNECT_MAX_S = 2.0  # most time between connect attempts while the server is away
UNREACHABLE_WAIT_S = 0.1  # a request's wait for a connection while the server is away
_DRAIN_INTERVAL_S = 1.0  # at most one drain for broken connections per this
# Phrases the server or a pooler uses when it has no connection left to give.
_FULL_PHRASES = (
    "too many clients",  # PostgreSQL (SQLSTATE 53300)
    "too many connections",  # PostgreSQL roles' and databases' CONNECTION LIMIT
    "remaining connection slots are reserved",  # PostgreSQL, superuser_reserved_connections
    "no more connections allowed",  # PgBouncer max_client_conn
    "max client connections reached",  # Supavisor
    "max_client_conn",
)
# Phrases of a refused connect that no wait can mend: the URL names a wrong role, password or
# database, or a client the server's pg_hba.conf does not let in.
_CONFIG_PHRASES = (
    "password authentication failed",
    "does not exist",  # role "x" / database "x" does not exist
    "no pg_hba.conf entry",
    "invalid connection option",
    "invalid dsn",
)
_FULL_HINT = (
    "each session worker holds 1 connection idle and 2 under load, the gateway at most "
    "WAMESH_DB_POOL_GATEWAY and each webhook worker at most WAMESH_DB_POOL_WEBHOOKS: lower "
    "those, raise the server's max_connections, or point DATABASE_URL at a transaction-mode "
    "pooler (Supabase: port 6543)"
)


class _ConnectErrorsOncePer(logging.Filter):
    """psycopg_pool's "error connecting in <pool>" warnings: one per TROUBLE_LOG_INTERVAL_S and
    pool, saying how many were held back since the last."""

    _PREFIX = "error connecting in"

    def __init__(self) -> None:
        super().__init__()
        self._next: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self._PREFIX) or not record.args:
            return True
        pool = str(record.args[0] if isinstance(record.args, tuple) else record.args)
        now = time.monotonic()
        if now < self._next.get(pool, 0.0):
            self._held[pool] = self._held.get(pool, 0) + 1
            return False
        held = self._held.pop(pool, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like it since the last)"
        self._next[pool] = now + TROUBLE_LOG_INTERVAL_S
        return True


_CONNECT_ERRORS = _ConnectErrorsOncePer()


class _CappedAttempt(AttemptWithBackoff):
    """psycopg_pool's reconnect back-off, capped at RECONNECT_MAX_S (jittered, so lines that
    lost the server together do not retry in step)."""

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_MAX_S * random.uniform(0.8, 1.0))


class Pool(AsyncConnectionPool[AsyncConnection[DictRow]]):
    """The pool every process uses; see the module docstring, "Outages".

    `_connect`, `_add_connection` and `schedule_task` extend psycopg_pool 3.3 internals (the
    version uv.lock pins); tests/faults/test_postgres_restart.py and tests/budget fail if they
    stop being called."""

    unreachable: str | None = None  # why the last connect failed; None once one succeeded
    _drained_at_s = 0.0
    _shrink_resting = False  # the idle check stopped: nothing above the idle minimum

    async def schedule_task(self, task: MaintenanceTask, delay: float) -> None:
        """psycopg_pool re-schedules its idle check (`ShrinkPool`) every `max_idle` for as long as
        the pool is open; with nothing above the idle minimum to give back it rests instead (an
        idle session worker woke for it every WAMESH_DB_IDLE_S, 5 s), and `_add_connection`
        starts it again when the pool grows."""
        if isinstance(task, ShrinkPool) and self._nconns <= self._min_size:
            self._shrink_resting = True
            return
        await super().schedule_task(task, delay)

    async def getconn(self, timeout: float | None = None) -> AsyncConnection[DictRow]:  # noqa: ASYNC109 - psycopg_pool's signature
        """A connection; while the server is away, within UNREACHABLE_WAIT_S or PoolTimeout."""
        if self.unreachable is not None:
            timeout = min(self.timeout if timeout is None else timeout, UNREACHABLE_WAIT_S)
        return await super().getconn(timeout)

    async def putconn(self, conn: AsyncConnection[DictRow]) -> None:
        """Give a connection back; a broken one first drains the idle ones (see the docstring)."""
        now = time.monotonic()
        if conn.broken and now - self._drained_at_s >= _DRAIN_INTERVAL_S:
            self._drained_at_s = now
            await self.drain()
        await super().putconn(conn)

    async def _connect(self, timeout: float | None = None) -> AsyncConnection[DictRow]:  # noqa: ASYNC109
        try:
            conn = await super()._connect(timeout)
        except Exception as exc:
            self.unreachable = type(exc).__name__
            raise
        self.unreachable = None
        return conn

    async def _add_connection(
        self, attempt: AttemptWithBackoff | None, growing: bool = False
    ) -> None:
        capped = attempt or _CappedAttempt(timeout=self.reconnect_timeout)
        await super()._add_connection(capped, growing)
        if growing and self._shrink_resting and self._nconns > self._min_size:
            self._shrink_resting = False
            await super().schedule_task(ShrinkPool(self), self.max_idle)


@dataclass(frozen=True)
class Budget:
    """A pool's size: connections kept while idle and the most it opens."""

    idle: int
    most: int


SESSION_BUDGET = Budget(idle=1, most=2)


def budget(settings: Settings, role: str) -> Budget:
    """The PostgreSQL budget of `role` (session, gateway, webhooks, dev)."""
    if role == "session":
        return SESSION_BUDGET
    if role == "gateway":
        return Budget(1, settings.database_pool_gateway)
    if role == "webhooks":
        return Budget(1, settings.database_pool_webhooks)
    return Budget(1, 2)


def prepares(settings: Settings, url: str) -> bool:
    """Whether to let psycopg prepare statements on the server (WAMESH_DB_PREPARE)."""
    if settings.database_prepare != "auto":
        return settings.database_prepare == "on"
    try:
        port = urlsplit(url).port
    except ValueError:
        port = None
    return port != SUPABASE_POOLER_PORT


class SchemaCursor(AsyncCursor[Row]):
    """A cursor whose statements name its schema (see wamesh.db.schema and `cursor_class`)."""

    statements: ClassVar[Statements] = Statements(DB_SCHEMA_DEFAULT)

    async def execute(  # type: ignore[override]  # no t-string Template: not used here
        self,
        query: QueryNoTemplate,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        """Run `query`, naming this cursor's schema where it says `wamesh`."""
        if isinstance(query, str):
            query = self.statements(query)
        return await super().execute(query, params, prepare=prepare, binary=binary)

    async def executemany(
        self, query: Query, params_seq: Iterable[Params], *, returning: bool = False
    ) -> None:
        """Run `query` once per parameter set, naming this cursor's schema."""
        if isinstance(query, str):
            query = self.statements(query)
        await super().executemany(query, params_seq, returning=returning)


@functools.cache
def cursor_class(schema: str) -> type[SchemaCursor[Any]]:
    """The cursor class of connections to `schema` (one per schema, so one statement cache)."""

    class Cursor(SchemaCursor[Any]):
        statements = Statements(schema)

    return Cursor


def connection_kwargs(*, prepare: bool, schema: str = DB_SCHEMA_DEFAULT) -> dict[str, Any]:
    """Keyword arguments of every connection we open (pooled or not) to wamesh's `schema`."""
    kwargs: dict[str, Any] = {"autocommit": True, "cursor_factory": cursor_class(schema)}
    if not prepare:
        kwargs["prepare_threshold"] = None
    return kwargs


def is_full(exc: BaseException) -> bool:
    """Whether `exc` says the server (or pooler) has no connection left."""
    if getattr(exc, "sqlstate", None) == "53300":
        return True
    text = str(exc).lower()
    return any(phrase in text for phrase in _FULL_PHRASES)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed connect may succeed later by itself: the server is full, away or starting
    (anything but a wrong role, password or database in the URL)."""
    if is_full(exc):
        return True
    if not isinstance(exc, OperationalError | OSError):
        return False
    text = str(exc).lower()
    return not any(phrase in text for phrase in _CONFIG_PHRASES)


class StoppedWaiting(Exception):
    """A patient opener was told to stop while it waited for PostgreSQL."""


def explain(exc: BaseException) -> str:
    """A message naming the cause of a failed connect and what to change."""
    detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    if is_full(exc):
        return f"PostgreSQL has no free connection (too many connections: {detail}); {_FULL_HINT}"
    return f"cannot connect to PostgreSQL ({type(exc).__name__}: {detail}); check DATABASE_URL"


@asynccontextmanager
async def open_role_pool(
    settings: Settings,
    role: str,
    *,
    name: str | None = None,
    patient: bool = False,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[Pool]:
    """The pool of a process of `role`, sized by its budget and the settings."""
    url = settings.require("database_url")
    size = budget(settings, role)
    async with open_pool(
        url,
        min_size=size.idle,
        max_size=size.most,
        name=name or role,
        max_idle_s=settings.database_idle_s,
        prepare=prepares(settings, url),
        patient=patient,
        stop=stop,
        application_name=f"wamesh-{name or role}",
        schema=settings.database_schema,
    ) as pool:
        yield pool


@asynccontextmanager
async def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    name: str = "wamesh",
    connect_timeout: float = 10.0,
    max_idle_s: float = 600.0,
    prepare: bool = True,
    patient: bool = False,
    stop: asyncio.Event | None = None,
    application_name: str | None = None,
    schema: str = DB_SCHEMA_DEFAULT,
) -> AsyncIterator[Pool]:
    """Open a pool of dict-row connections, checked to work before it is handed out.

    Unavailable names the cause when it cannot connect; a `patient` caller waits (with
    jittered back-off) while the server is full or away, instead of failing, until `stop` is set
    (then StoppedWaiting).
    `application_name` shows in pg_stat_activity (which role holds which connections); statements
    name `schema` (WAMESH_DB_SCHEMA)."""
    logging.getLogger("psycopg.pool").addFilter(_CONNECT_ERRORS)  # once: a filter is not re-added
    kwargs: dict[str, Any] = {
        "row_factory": dict_row,
        **connection_kwargs(prepare=prepare, schema=schema),
    }
    if application_name:
        kwargs["application_name"] = application_name
    delay = RETRY_FIRST_S
    while True:
        try:
            opening = _opened(url, min_size, max_size, name, connect_timeout, max_idle_s, kwargs)
            pool = await _unless_stopped(stop, opening)
            break
        except Unavailable as exc:
            if not (patient and exc.__cause__ is not None and is_transient(exc.__cause__)):
                raise
            wait = delay * (0.5 + random.random() / 2)  # jitter: lines retry apart
            _LOGGER.warning("%s; waiting %.0f s", exc.message, wait)
            if await _stopped_within(stop, wait):
                raise StoppedWaiting(exc.message) from None
            delay = min(RETRY_MAX_S, delay * 2)
    try:
        yield pool
    finally:
        await pool.close()


async def _unless_stopped(stop: asyncio.Event | None, opening: Awaitable[Pool]) -> Pool:
    """The opened pool, or StoppedWaiting when `stop` is set first (the opening is cancelled)."""
    if stop is None:
        return await opening
    task = asyncio.ensure_future(opening)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    raise StoppedWaiting("stopped while connecting to PostgreSQL")


async def _stopped_within(stop: asyncio.Event | None, seconds: float) -> bool:
    """Sleep `seconds`, or less when `stop` is set meanwhile (then True)."""
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _opened(
    url: str,
    min_size: int,
    max_size: int,
    name: str,
    connect_timeout: float,
    max_idle_s: float,
    kwargs: dict[str, Any],
) -> Pool:
    pool = Pool(
        url,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        timeout=connect_timeout,
        max_idle=max_idle_s,
        reconnect_timeout=math.inf,  # a service waits for its database however long it is away
        connection_class=AsyncConnection[DictRow],
        kwargs=kwargs,
    )
    try:
        await pool.open(wait=True, timeout=connect_timeout)
    except asyncio.CancelledError:
        await pool.close()
        raise
    except Exception as exc:
        await pool.close()
        cause = await _connect_error(url, connect_timeout) or exc
        raise Unavailable(explain(cause)) from cause
    return pool


async def _connect_error(url: str, limit_s: float) -> BaseException | None:
    """The error one plain connect gets now (the pool only reports that it timed out)."""
    try:
        conn = await AsyncConnection.connect(url, connect_timeout=max(1, int(limit_s)))
    except (OperationalError, OSError) as exc:
        return exc
    await conn.close()
    return None
