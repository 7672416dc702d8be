"""Lines (the `sessions` rows): create, list, get, update, delete, rotate the webhook secret.

The gateway's REST and gRPC admin calls are thin layers over these functions. A line's id is a
UUID; anything else is simply not found. The webhook secret is returned only by `create_line` and
`rotate_secret`, never by reads.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from psycopg.types.json import Jsonb

from wamesh.constants import (
    DESIRED_STARTED,
    DESIRED_STATES,
    ENGINES,
    EVENT_TYPES,
    MAX_NAME_LENGTH,
    WEBHOOK_SECRET_PREFIX,
)
from wamesh.db.pool import Pool
from wamesh.errors import InvalidInput, SessionNotFound, shorten
from wamesh.ids import as_uuid
from wamesh.webhooks.signing import generate_secret

_COLUMNS = (
    "id::text AS id, name, engine, status, qr, qr_expires_at, me, webhook_url, webhook_events, "
    "webhook_enabled, metadata, last_error, created_at, updated_at, desired_state"
)


@dataclass(frozen=True)
class LineRecord:
    """A line as the API shows it (never with its secret)."""

    id: str
    name: str
    engine: str
    status: str
    qr: str | None
    qr_expires_at: datetime | None
    me: str | None
    webhook_url: str | None
    webhook_events: list[str]
    webhook_enabled: bool
    metadata: dict[str, Any]
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    desired_state: str = DESIRED_STARTED


@dataclass(frozen=True)
class NewLine:
    """What creating a line takes."""

    name: str
    engine: str = "sandbox"
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_events: Sequence[str] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LinePatch:
    """Fields to change; None leaves a field as it is (`webhook_url=""` removes the webhook)."""

    name: str | None = None
    webhook_url: str | None = None
    webhook_events: Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None
    webhook_enabled: bool | None = None


def parse_line_id(value: str) -> str:
    """The canonical id, or SessionNotFound for anything that is not a UUID."""
    line_id = as_uuid(value)
    if line_id is None:
        raise SessionNotFound(value)
    return line_id


def check_name(name: str) -> str:
    """1 to MAX_NAME_LENGTH characters."""
    stripped = name.strip()
    if not 1 <= len(stripped) <= MAX_NAME_LENGTH:
        raise InvalidInput(f"name must have 1 to {MAX_NAME_LENGTH} characters", "name")
    return stripped


def check_engine(engine: str) -> str:
    """One of the known engines."""
    if engine not in ENGINES:
        raise InvalidInput(f"engine must be one of {', '.join(ENGINES)}", "engine")
    return engine


def check_webhook_url(url: str) -> str:
    """An absolute http(s) URL (whether its address is allowed is checked at connect time)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise InvalidInput("webhook_url is not a valid URL", "webhook_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("webhook_url must be an absolute http:// or https:// URL", "webhook_url")
    if parts.username or parts.password:
        raise InvalidInput("webhook_url must not contain credentials", "webhook_url")
    return url.strip()


def check_events(events: Sequence[str]) -> list[str]:
    """Known event types, without duplicates (empty: every type)."""
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(
            f"unknown event types {shorten(unknown)}; known: {', '.join(EVENT_TYPES)}",
            "webhook_events",
        )
    return list(dict.fromkeys(events))


def check_secret(secret: str) -> str:
    """A Standard Webhooks secret: `whsec_` plus base64 of 24 to 50 bytes."""
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise InvalidInput("webhook_secret must start with whsec_", "webhook_secret")
    try:
        raw = base64.b64decode(secret[len(WEBHOOK_SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise InvalidInput("webhook_secret must be whsec_ plus base64", "webhook_secret") from None
    if not 24 <= len(raw) <= 50:
        raise InvalidInput("webhook_secret must encode 24 to 50 bytes", "webhook_secret")
    return secret


async def create_line(pool: Pool, new: NewLine) -> tuple[LineRecord, str]:
    """Insert a line; return it and its webhook secret (generated when not given)."""
    secret = check_secret(new.webhook_secret) if new.webhook_secret else generate_secret()
    url = check_webhook_url(new.webhook_url) if new.webhook_url else None
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"INSERT INTO wamesh.sessions (name, engine, webhook_url, webhook_secret, "
            f"webhook_events, metadata) VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (
                check_name(new.name),
                check_engine(new.engine),
                url,
                secret,
                check_events(new.webhook_events),
                Jsonb(dict(new.metadata)),
            ),
        )
        row = await cursor.fetchone()
    assert row is not None
    return LineRecord(**row), secret


async def list_lines(pool: Pool) -> list[LineRecord]:
    """Every line, oldest first."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"SELECT {_COLUMNS} FROM wamesh.sessions ORDER BY created_at, id"
        )
        return [LineRecord(**row) for row in await cursor.fetchall()]


async def get_line(pool: Pool, line_id: str) -> LineRecord:
    """One line, or SessionNotFound."""
    line_id = parse_line_id(line_id)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"SELECT {_COLUMNS} FROM wamesh.sessions WHERE id = %s", (line_id,)
        )
        row = await cursor.fetchone()
    if row is None:
        raise SessionNotFound(line_id)
    return LineRecord(**row)


async def update_line(pool: Pool, line_id: str, patch: LinePatch) -> LineRecord:
    """Apply `patch`; return the line as it is now."""
    line_id = parse_line_id(line_id)
    sets, values = _patch_columns(patch)
    if not sets:
        return await get_line(pool, line_id)
    assignments = ", ".join(f"{column} = %s" for column in sets)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            f"UPDATE wamesh.sessions SET {assignments}, updated_at = now() "
            f"WHERE id = %s RETURNING {_COLUMNS}",
            (*values, line_id),
        )
        row = await cursor.fetchone()
    if row is None:
        raise SessionNotFound(line_id)
    return LineRecord(**row)


def _patch_columns(patch: LinePatch) -> tuple[list[str], list[object]]:
    columns: list[str] = []
    values: list[object] = []
    if patch.name is not None:
        columns.append("name")
        values.append(check_name(patch.name))
    if patch.webhook_url is not None:
        columns.append("webhook_url")
        values.append(check_webhook_url(patch.webhook_url) if patch.webhook_url else None)
    if patch.webhook_events is not None:
        columns.append("webhook_events")
        values.append(check_events(patch.webhook_events))
    if patch.metadata is not None:
        columns.append("metadata")
        values.append(Jsonb(dict(patch.metadata)))
    if patch.webhook_enabled is not None:
        columns.append("webhook_enabled")
        values.append(patch.webhook_enabled)
    return columns, values


async def set_desired_state(pool: Pool, line_id: str, desired: str) -> LineRecord:
    """Start (`started`: a pool worker should serve it) or stop (`stopped`) a line; return it.
    `desired_at` moves only when the state changes, so a line keeps its place in the queue."""
    line_id = parse_line_id(line_id)
    if desired not in DESIRED_STATES:
        raise InvalidInput(f"desired_state must be one of {', '.join(DESIRED_STATES)}")
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "UPDATE wamesh.sessions SET desired_at = CASE WHEN desired_state = %s "
            "THEN desired_at ELSE now() END, desired_state = %s, updated_at = now() "
            f"WHERE id = %s RETURNING {_COLUMNS}",
            (desired, desired, line_id),
        )
        row = await cursor.fetchone()
    if row is None:
        raise SessionNotFound(line_id)
    return LineRecord(**row)


async def delete_line(pool: Pool, line_id: str) -> None:
    """Delete a line with its auth state, reminders and deliveries (its worker then exits)."""
    line_id = parse_line_id(line_id)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "DELETE FROM wamesh.sessions WHERE id = %s RETURNING id", (line_id,)
        )
        if await cursor.fetchone() is None:
            raise SessionNotFound(line_id)


async def rotate_secret(pool: Pool, line_id: str, grace_s: float = 0) -> str:
    """Replace the line's webhook secret with a new one and return it; the old one stays valid
    for `grace_s` (deliveries carry both signatures; a second rotation within it drops the
    oldest)."""
    line_id = parse_line_id(line_id)
    secret = generate_secret()
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "UPDATE wamesh.sessions SET webhook_secret = %s, "
            "webhook_secret_previous = webhook_secret, "
            "webhook_secret_previous_until = now() + make_interval(secs => %s), "
            "updated_at = now() WHERE id = %s RETURNING id",
            (secret, grace_s, line_id),
        )
        if await cursor.fetchone() is None:
            raise SessionNotFound(line_id)
    return secret


async def last_status(pool: Pool, line_id: str) -> str:
    """The status the line's row records (SessionNotFound when there is no row)."""
    line = await get_line(pool, line_id)
    return str(line.status)
