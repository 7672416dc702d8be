"""One attempt of one webhook delivery: claim the row, sign, POST, record, decide.

The claim is a single UPDATE that succeeds only for a row that is `pending` and due, or whose
claim expired; so a duplicate kick, or a kick of a delivered row, does nothing. Every attempt is
written to `webhook_attempts`. The outcome (see `policy`) marks the row `delivered`, `failed`
(the dead-letter state), or `pending` again with `next_attempt_at`. At most
WEBHOOK_PER_SESSION_INFLIGHT attempts per line run at once in a process; a kick beyond that is
put back a moment later instead of waiting in a slot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from wamesh.db.pool import Pool
from wamesh.ids import uuids
from wamesh.settings import Settings
from wamesh.webhooks import signing
from wamesh.webhooks.intake import Intake
from wamesh.webhooks.outcomes import OutcomeWriter
from wamesh.webhooks.policy import Backoff, Verdict, verdict
from wamesh.webhooks.safety import guarded_connector
from wamesh.webhooks.slots import Slots

_LOGGER = logging.getLogger(__name__)
SNIPPET_CHARS = 500
BUSY_RETRY_S = 0.5
USER_AGENT = "wamesh-webhooks/1"

_CLAIM = """
UPDATE webhook_deliveries d SET status = 'delivering', attempts = d.attempts + 1,
    claimed_until = now() + make_interval(secs => %(claim_s)s), updated_at = now()
FROM sessions s
WHERE d.id = ANY(%(ids)s::uuid[]) AND s.id = d.session_id
  AND ((d.status = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now()))
       OR (d.status = 'delivering' AND d.claimed_until < now()))
RETURNING d.id::text AS id, d.session_id::text AS session_id, d.payload, d.attempts,
    s.webhook_url, s.webhook_secret, s.webhook_enabled
"""

# One statement per batch of outcomes: record each attempt and move its row on.
_OUTCOME_FIELDS = (
    "id",
    "attempt",
    "code",
    "latency",
    "attempt_error",
    "snippet",
    "status",
    "error",
    "delay",
)
_OUTCOME = """
WITH o AS (
    SELECT * FROM unnest(%(id)s::uuid[], %(attempt)s::int[], %(code)s::int[], %(latency)s::int[],
        %(attempt_error)s::text[], %(snippet)s::text[], %(status)s::text[], %(error)s::text[],
        %(delay)s::float8[])
        AS o(id, attempt, code, latency, attempt_error, snippet, status, error, delay)
), attempt AS (
    INSERT INTO webhook_attempts
        (delivery_id, attempt, status_code, latency_ms, error, response_snippet)
    SELECT id, attempt, code, latency, attempt_error, snippet FROM o
)
UPDATE webhook_deliveries d SET status = o.status, last_status_code = o.code,
    last_error = o.error, claimed_until = NULL, updated_at = now(),
    delivered_at = CASE WHEN o.status = 'delivered' THEN now() ELSE d.delivered_at END,
    next_attempt_at = CASE WHEN o.status = 'pending'
        THEN now() + make_interval(secs => o.delay) ELSE d.next_attempt_at END,
    kicked_at = CASE WHEN o.status = 'pending' THEN NULL ELSE d.kicked_at END
FROM o WHERE d.id = ANY(%(id)s::uuid[]) AND d.id = o.id  -- ANY: an index scan, not a full one
"""
# Rows claimed beyond a line's in-flight cap go back, uncounted, a moment later.
_PUT_BACK = """
UPDATE webhook_deliveries SET status = 'pending', attempts = attempts - 1, claimed_until = NULL,
    kicked_at = NULL, next_attempt_at = now() + make_interval(secs => %(delay)s), updated_at = now()
WHERE id = ANY(%(ids)s::uuid[])
"""
_NO_WEBHOOK = """
UPDATE webhook_deliveries SET status = 'failed', last_error = %(error)s, claimed_until = NULL,
    updated_at = now() WHERE id = %(id)s
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
    """Delivers one attempt of each kicked row that is due."""

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
        self._claim_s = settings.webhook_timeout_ms / 1000 * 2 + 5
        self._cap = settings.webhook_per_session_inflight
        self._in_flight: defaultdict[str, int] = defaultdict(int)
        self._slots = Slots(settings.webhook_concurrency)
        self._intake = Intake(self._slots, self._claim, self._start)
        self._running: set[asyncio.Task[None]] = set()
        self._outcomes = OutcomeWriter(pool, _OUTCOME, _OUTCOME_FIELDS)

    async def deliver(self, delivery_ids: Sequence[str]) -> None:
        """Claim the due rows among `delivery_ids` as places free up, and start an attempt of
        each in the background (WEBHOOK_CONCURRENCY attempts at most, in all)."""
        await self._intake.submit(uuids(delivery_ids))

    def _start(self, claimed: list[Claimed], places: int) -> None:
        admitted, busy = self._admit(claimed)
        self._slots.give(places - len(admitted))
        if busy:
            self._spawn(self._put_back(busy))
        for row in admitted:
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

    async def _claim(self, delivery_ids: Sequence[str]) -> list[Claimed]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                _CLAIM, {"ids": list(delivery_ids), "claim_s": self._claim_s}
            )
            return [Claimed(**row) for row in await cursor.fetchall()]

    def _admit(self, claimed: list[Claimed]) -> tuple[list[Claimed], list[str]]:
        admitted, busy = [], []
        for row in claimed:
            if self._in_flight[row.session_id] < self._cap:
                self._in_flight[row.session_id] += 1
                admitted.append(row)
            else:
                busy.append(row.id)
        return admitted, busy

    async def _put_back(self, ids: list[str]) -> None:
        try:
            async with self._pool.connection() as conn:
                await conn.execute(_PUT_BACK, {"ids": ids, "delay": BUSY_RETRY_S})
        except Exception:
            _LOGGER.exception("could not put back %d deliveries; their claims expire", len(ids))
            return
        self._schedule(ids, BUSY_RETRY_S)

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
            self._leave(claimed)
            held = False
            await self._conclude(claimed, result)
        except Exception:
            _LOGGER.exception(
                "attempt of delivery %s failed; its claim expires and it is retried", claimed.id
            )
        finally:
            if held:
                self._leave(claimed)

    def _leave(self, claimed: Claimed) -> None:
        """Give back the attempt's place and its line's share."""
        self._in_flight[claimed.session_id] -= 1
        self._slots.give()

    async def _post(self, claimed: Claimed) -> AttemptResult:
        body = json.dumps(claimed.payload, separators=(",", ":")).encode()
        headers = {
            **signing.headers(claimed.webhook_secret, claimed.id, body),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        started = time.perf_counter()
        timeout = aiohttp.ClientTimeout(total=self._settings.webhook_timeout_ms / 1000)
        try:
            async with self._http.post(
                claimed.webhook_url or "",
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as resp:
                text = await resp.content.read(SNIPPET_CHARS * 4)
                return AttemptResult(
                    resp.status,
                    _ms(started),
                    None,
                    text.decode(errors="replace")[:SNIPPET_CHARS],
                    resp.headers.get("Retry-After"),
                )
        except TimeoutError:
            return AttemptResult(None, _ms(started), "timeout", None, None)
        except (aiohttp.ClientError, OSError) as exc:
            return AttemptResult(None, _ms(started), _describe(exc), None, None)

    async def _conclude(self, claimed: Claimed, result: AttemptResult) -> None:
        """Record the attempt and move the row to delivered, failed or pending (one statement)."""
        outcome = verdict(result.status)
        error = result.error or (
            f"HTTP {result.status}" if outcome is not Verdict.DELIVERED else None
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
            }
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
                "UPDATE sessions SET webhook_enabled = false, updated_at = now() WHERE id = %s",
                (session_id,),
            )
        _LOGGER.warning("webhook of session %s disabled after 410 Gone", session_id)


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
