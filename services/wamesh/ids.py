"""Ids from outside (a URL, a stream message) made fit for a `uuid` column.

Comparing `id::text = %s` would accept any string but hides the primary key from the planner (a
webhook claim of a few rows scanned the whole table, and the worker's rate fell from about 2,600
to 1,700 deliveries/s as the table grew from 3,000 to 15,000 rows); so a value is parsed here
first, and one that is not a UUID matches nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable


def as_uuid(value: str) -> str | None:
    """The canonical form of `value`, or None when it is not a UUID."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None


def uuids(values: Iterable[str]) -> list[str]:
    """The canonical forms of those `values` that are UUIDs, in order."""
    return [v for v in map(as_uuid, values) if v is not None]
