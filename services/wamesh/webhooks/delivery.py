"""One attempt of one webhook delivery: claim the row, sign, POST, record, decide.

The claim is a single statement that takes only a row that is `pending` and due, or whose claim
expired, and only while its line has a free place (`lanes`: WEBHOOK_PER_SESSION_INFLIGHT, and what
its endpoint's `circuit` allows); so a duplicate kick, or a kick of a delivered row, does nothing,
and a row of a full line is read, not written, and waits in the worker for a place. A claim holds
for WEBHOOK_TIMEOUT_MS + CLAIM_MARGIN_S: the POST starts as soon as the row is claimed, so an
expired claim means its worker died. Every attempt is written to `webhook_attempts`. The outcome
(see `policy`) marks the row `delivered`, `failed` (the dead-letter state), or `pending` again with
`next_attempt_at`: two row updates per attempt, however long the backlog.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from wamesh.db.pool import Pool
from wamesh.ids import uuids
from wamesh.settings import Settings
from wamesh.webhooks import signing
from wamesh.webhooks.circuit import Change, Circuits, State
from wamesh.webhooks.intake import Intake, Sorted
from wamesh.webhooks.lanes import Lanes, Rooms
from wamesh.webhooks.metrics import WebhookMetrics
from wamesh.webhooks.outcomes import OutcomeWriter
from wamesh.webhooks.policy import Backoff, Verdict, verdict
from wamesh.webhooks.safety import guarded_connector
from wamesh.webhooks.slots import Slots

_LOGGER = logging.getLogger(__name__)
SNIPPET_CHARS = 500
CLAIM_MARGIN_S = 2.0  # beyond WEBHOOK_TIMEOUT_MS: the record of an outcome, a slow commit
USER_AGENT = "wamesh-webhooks/1"

_CLAIMABLE = """(
    (d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now()))
    OR (d.status = 'delivering' AND d.claimed_until < now()))"""
# The kicked rows that are claimable, numbered per line and per endpoint in kick order; those
# within their line's and endpoint's room (reserved rows always) are claimed, the others
# returned unwritten, with their line, to wait.
_CLAIM = f"""
WITH asked AS (
    SELECT a.id, a.n FROM unnest(%(ids)s::text::uuid[]) WITH ORDINALITY AS a(id, n)
), claimable AS (
    SELECT d.id, d.session_id, s.webhook_url, s.webhook_enabled, a.n,
        a.id = ANY(%(reserved)s::text::uuid[]) AS reserved
    FROM asked a JOIN wamesh.webhook_deliveries d ON d.id = a.id
    JOIN wamesh.sessions s ON s.id = d.session_id
    WHERE d.id = ANY(%(ids)s::text::uuid[]) AND {_CLAIMABLE}
), ranked AS (
    SELECT c.*,
        row_number() OVER (PARTITION BY c.reserved, c.session_id ORDER BY c.n) AS in_line,
        row_number() OVER (PARTITION BY c.reserved, c.webhook_url ORDER BY c.n) AS at_endpoint
    FROM claimable c
), chosen AS (
    SELECT r.id FROM ranked r
    LEFT JOIN unnest(%(lines)s::text::uuid[], %(line_rooms)s::text::int[]) AS l(id, room)
        ON l.id = r.session_id
    LEFT JOIN unnest(%(urls)s::text::text[], %(url_rooms)s::text::int[]) AS e(url, room)
        ON e.url = r.webhook_url
    WHERE r.reserved OR (r.in_line <= COALESCE(l.room, %(line_default)s)
        AND (r.webhook_url IS NULL OR NOT r.webhook_enabled
             OR r.at_endpoint <= COALESCE(e.room, CASE
                 WHEN r.webhook_url = ANY(%(wide_urls)s::text::text[]) THEN %(url_wide)s
                 ELSE %(url_default)s END)))
), claimed AS (
    UPDATE wamesh.webhook_deliveries d SET status = 'delivering', attempts = d.attempts + 1,
        claimed_until = now() + make_interval(secs => %(claim_s)s), updated_at = now()
    FROM wamesh.sessions s
    WHERE d.id = ANY(ARRAY(SELECT id FROM chosen)) AND s.id = d.session_id AND {_CLAIMABLE}
    RETURNING d.id, d.session_id, d.payload, d.attempts,
        s.webhook_url, {signing.SIGNING_SECRETS} AS webhook_secret, s.webhook_enabled
)
SELECT id::text AS id, session_id::text AS session_id, payload, attempts, webhook_url,
    webhook_secret, webhook_enabled, true AS claimed FROM claimed
UNION ALL
SELECT r.id::text, r.session_id::text, NULL, 0, r.webhook_url, NULL, r.webhook_enabled, false
FROM ranked r WHERE r.id <> ALL(ARRAY(SELECT id FROM chosen))
"""

# One statement per batch of outcomes: record each attempt and move its row on.
_OUTCOME = """
WITH o AS (
    SELECT * FROM json_to_recordset(%(rows)s::text::json)
        AS o(id uuid, attempt int, code int, latency int, attempt_error text, snippet text,
            status text, error text, delay float8)
), attempt AS (
    INSERT INTO wamesh.webhook_attempts
        (delivery_id, attempt, status_code, latency_ms, error, response_snippet)
    SELECT id, attempt, code, latency, attempt_error, snippet FROM o
)
UPDATE wamesh.webhook_deliveries d SET status = o.status, last_status_code = o.code,
    last_error = o.error, claimed_until = NULL, updated_at = now(),
    delivered_at = CASE WHEN o.status = 'delivered' THEN now() ELSE d.delivered_at END,
    next_attempt_at = CASE WHEN o.status = 'pending'
        THEN now() + make_interval(secs => o.delay) ELSE d.next_attempt_at END,
    kicked_at = CASE WHEN o.status = 'pending' THEN NULL ELSE d.kicked_at END
FROM o WHERE d.id = ANY(ARRAY(SELECT id FROM o)) AND d.id = o.id  -- by key, not a full scan
"""
# A circuit that opened or closed: what the delivery log shows of the endpoint.
_CIRCUIT = """
INSERT INTO wamesh.webhook_endpoints AS e
    (url, state, failures, paused_until, last_error, updated_at)
VALUES (%(url)s, %(state)s, %(failures)s, now() + make_interval(secs => %(pause)s), %(error)s,
    now())
ON CONFLICT (url) DO UPDATE SET state = excluded.state, failures = excluded.failures,
    paused_until = excluded.paused_until, last_error = COALESCE(excluded.last_error, e.last_error),
    updated_at = now()
"""
_NO_WEBHOOK = """
UPDATE wamesh.webhook_deliveries SET status = 'failed', last_error = %(error)s,
    claimed_until = NULL, updated_at = now() WHERE id = %(id)s
"""


@dataclass(frozen=True)
class Claimed:
    """A claimed row and its line's webhook configuration."""

    id: str
    session_id: str
    payload: dict[str, Any]
    attempts: int
    webhook_url: str | None
    webhook_secret: str = field(repr=False)  # never in a log line or traceback
    webhook_enabled: bool


@dataclass(frozen=True)
class AttemptResult:
    """What one POST gave."""

    status: int | None
    latency_ms: int
    error: str | None
    snippet: str | None
    retry_after: str | None


class Deliverer:
    """Delivers one attempt of each kicked row that is due, when its line has a place."""

    def __init__(
        self,
        settings: Settings,
        pool: Pool,
        http: aiohttp.ClientSession,
        schedule: Callable[[list[str], float], None],
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._http = http
        self._schedule = schedule
        self._backoff = Backoff(
            settings.webhook_backoff_ms / 1000, settings.webhook_max_backoff_ms / 1000
        )
        self._claim_s = settings.webhook_timeout_ms / 1000 + CLAIM_MARGIN_S
        self._timeout = aiohttp.ClientTimeout(
            total=settings.webhook_timeout_ms / 1000,
            connect=min(settings.webhook_connect_timeout_ms, settings.webhook_timeout_ms) / 1000,
        )
        self.circuits = Circuits(
            settings.webhook_circuit_failures,
            settings.webhook_circuit_pause_ms / 1000,
            settings.webhook_circuit_max_pause_ms / 1000,
            wide=settings.webhook_concurrency,
        )
        self.lanes = Lanes(settings.webhook_per_session_inflight, self.circuits)
        self.metrics = WebhookMetrics(self.circuits)
        self._slots = Slots(settings.webhook_concurrency)
        self._intake: Intake[Claimed] = Intake(self._slots, self.lanes, self._claim, self._start)
        self._running: set[asyncio.Task[None]] = set()
        self._outcomes = OutcomeWriter(pool, _OUTCOME)
        self._literals = ArrayLiterals()
        self._claims = 0

    async def deliver(self, delivery_ids: Sequence[str]) -> None:
        """Claim the due rows among `delivery_ids` whose line has a place, start an attempt of
        each in the background (WEBHOOK_CONCURRENCY attempts at most, in all), and keep the
        others waiting for a place of their line."""
        await self._intake.submit(uuids(delivery_ids))

    def activity(self) -> int:
        """Claims made so far (the reconciler's sign of traffic)."""
        return self._claims

    def _start(self, claimed: list[Claimed]) -> None:
        for row in claimed:
            self._spawn(self._attempt(row))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def drain(self, timeout_s: float) -> None:
        """Wait for attempts in flight (on shutdown); those cut short keep their claim, which
        expires and is re-kicked by a reconciler."""
        await self._intake.stop()
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout_s)
        await self._outcomes.stop()

    async def _claim(self, reserved: list[str], fresh: list[str], rooms: Rooms) -> Sorted[Claimed]:
        # Arrays go as literals: psycopg's array dumper cost more CPU than the rest of a small
        # claim (measured); ids and lines are canonical UUIDs, which need no quoting.
        params = {
            "ids": _plain_array(dict.fromkeys(reserved + fresh)),  # a kick may name a row twice
            "reserved": _plain_array(reserved),
            "claim_s": self._claim_s,
            "lines": _plain_array(rooms.lines),
            "line_rooms": _plain_array(map(str, rooms.line_rooms)),
            "urls": _text_array(rooms.urls),
            "url_rooms": _plain_array(map(str, rooms.url_rooms)),
            "line_default": rooms.line_default,
            "url_default": rooms.url_default,
            "wide_urls": self._literals.text(rooms.wide_urls),
            "url_wide": rooms.url_wide,
        }
        self._claims += 1
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_CLAIM, params)
            rows = await cursor.fetchall()
        claimed = [Claimed(**_fields(r)) for r in rows if r["claimed"]]
        waiting = [(r["id"], r["session_id"], r["webhook_url"]) for r in rows if not r["claimed"]]
        return Sorted(claimed, waiting)

    async def _record_circuit(self, change: Change, error: str | None) -> None:
        try:
            async with self._pool.connection() as conn:
                await conn.execute(
                    _CIRCUIT,
                    {
                        "url": change.url,
                        "state": change.state.value,
                        "failures": change.failures,
                        "pause": change.pause_s,
                        "error": error,
                    },
                )
        except Exception:  # the log's view of the endpoint; delivery goes on without it
            _LOGGER.exception("could not record the circuit of an endpoint")
        if change.state is State.OPEN:
            _LOGGER.warning(
                "webhook endpoint paused for %.0f s after %d failures in a row",
                change.pause_s,
                change.failures,
                extra={"endpoint": _endpoint(change.url)},
            )

    async def _attempt(self, claimed: Claimed) -> None:
        """POST, give the place back, then record the outcome (so a slow commit never holds a
        place that another POST could use)."""
        held = True
        try:
            if not claimed.webhook_url or not claimed.webhook_enabled:
                async with self._pool.connection() as conn:
                    await conn.execute(
                        _NO_WEBHOOK, {"id": claimed.id, "error": "the line has no enabled webhook"}
                    )
                return
            result = await self._post(claimed)
            self.metrics.attempted(
                result.status, result.latency_ms, claimed.payload.get("timestamp")
            )
            change = self._judge(claimed.webhook_url, result.status)
            self._leave(claimed)
            held = False
            await self._conclude(claimed, result, change)
        except Exception:
            _LOGGER.exception(
                "attempt of delivery %s failed; its claim expires and it is retried", claimed.id
            )
        finally:
            if held:
                self._leave(claimed)

    def _leave(self, claimed: Claimed) -> None:
        """Give back the attempt's place and its line's share; look for the next row."""
        self.lanes.release(claimed.session_id, claimed.webhook_url)
        self._slots.give()
        self._intake.freed()

    def _judge(self, url: str, status: int | None) -> Change | None:
        """Tell the endpoint's circuit how the attempt went; wake the claimer when a pause ends."""
        if verdict(status) is Verdict.RETRY:
            change = self.circuits.failed(url)
        else:
            change = self.circuits.answered(url)
        if change is not None and change.state is State.OPEN:
            asyncio.get_running_loop().call_later(change.pause_s, self._intake.wake)
        return change

    async def _post(self, claimed: Claimed) -> AttemptResult:
        body = json.dumps(claimed.payload, separators=(",", ":")).encode()
        headers = {
            **signing.headers(claimed.webhook_secret, claimed.id, body),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        started = time.perf_counter()
        try:
            async with self._http.post(
                claimed.webhook_url or "",
                data=body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                text = await resp.content.read(SNIPPET_CHARS * 4)
                return AttemptResult(
                    resp.status,
                    _ms(started),
                    None,
                    text.decode(errors="replace").replace("\x00", "\ufffd")[:SNIPPET_CHARS],
                    resp.headers.get("Retry-After"),
                )
        except aiohttp.ConnectionTimeoutError:
            return AttemptResult(None, _ms(started), "connect timeout", None, None)
        except TimeoutError:
            return AttemptResult(None, _ms(started), "timeout", None, None)
        except (aiohttp.ClientError, OSError) as exc:
            return AttemptResult(None, _ms(started), _describe(exc), None, None)

    async def _conclude(
        self, claimed: Claimed, result: AttemptResult, change: Change | None
    ) -> None:
        """Record the attempt and move the row to delivered, failed or pending (one statement);
        record the endpoint's circuit when it changed."""
        outcome = verdict(result.status)
        error = result.error or (
            f"HTTP {result.status}" if outcome is not Verdict.DELIVERED else None
        )
        if change is not None:
            self._spawn(self._record_circuit(change, error))
            if change.state is State.OPEN:
                error = (
                    f"{error}; endpoint paused {change.pause_s:.0f} s "
                    f"after {change.failures} failures in a row"
                )
        status, delay = "failed", 0.0
        if outcome is Verdict.DELIVERED:
            status = "delivered"
        elif outcome is Verdict.DISABLE:
            error = "410 Gone: the line's webhook was disabled"
        elif outcome is Verdict.RETRY and claimed.attempts < self._settings.webhook_attempts:
            status, delay = "pending", self._backoff.delay(claimed.attempts, result.retry_after)
        await self._outcomes.write(
            {
                "id": claimed.id,
                "attempt": claimed.attempts,
                "code": result.status,
                "latency": result.latency_ms,
                "attempt_error": result.error,
                "snippet": result.snippet,
                "status": status,
                "error": error,
                "delay": delay,
            },
            confirm=status != "delivered",  # a retry timer or a log line follows the others
        )
        if status == "pending":
            self._schedule([claimed.id], delay)
        elif status == "failed":
            _LOGGER.warning(
                "delivery %s failed after %d attempts: %s", claimed.id, claimed.attempts, error
            )
        if outcome is Verdict.DISABLE:
            await self._disable(claimed.session_id)

    async def _disable(self, session_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE wamesh.sessions SET webhook_enabled = false, updated_at = now() "
                "WHERE id = %s",
                (session_id,),
            )
        _LOGGER.warning("webhook of session %s disabled after 410 Gone", session_id)


class ArrayLiterals:
    """Every closed endpoint goes with every claim; psycopg dumping them element by element
    cost more CPU than the rest of a one-row claim at 100 lines (measured). They rarely change,
    so each list is sent as one array literal, made again only when it differs from the last
    one."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[list[Any], str]] = {}

    def text(self, values: list[str]) -> str:
        """`values` as a PostgreSQL text[] literal."""
        return self._literal("text", values, _quote)

    def _literal(self, kind: str, values: list[Any], form: Callable[[Any], str]) -> str:
        last = self._last.get(kind)
        if last is not None and (last[0] is values or last[0] == values):
            return last[1]
        literal = "{" + ",".join(form(v) for v in values) + "}"
        self._last[kind] = (values, literal)  # callers hand a new list when it changes
        return literal


def _plain_array(values: Iterable[str]) -> str:
    """An array literal of values that need no quoting (canonical UUIDs, numbers)."""
    return "{" + ",".join(values) + "}"


def _text_array(values: Iterable[str]) -> str:
    """An array literal of any text values."""
    return "{" + ",".join(map(_quote, values)) + "}"


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "claimed"}


def _endpoint(url: str) -> str:
    """Scheme, host and port of a URL: never its path or query, which may hold a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _describe(exc: BaseException) -> str:
    """A short error text that never includes request headers (and so no signature)."""
    cause = exc.__cause__ or exc
    return f"{type(exc).__name__}: {cause}"[:300]


def http_session(settings: Settings) -> aiohttp.ClientSession:
    """The client session of a webhook worker: SSRF-guarded unless private targets are allowed."""
    connector = guarded_connector(settings, limit=settings.webhook_concurrency, ttl_dns_cache=60)
    return aiohttp.ClientSession(connector=connector, trust_env=False, raise_for_status=False)
