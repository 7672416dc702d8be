"""Fixtures for media tests: a PostgreSQL media store and byte streams made on the fly."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from wamesh.db.pool import Pool
from wamesh.media.postgres import PostgresMediaStore


@pytest.fixture
def store(pool: Pool) -> PostgresMediaStore:
    """A store with a week's retention and small chunks (so a few KiB span several)."""
    return PostgresMediaStore(pool, timedelta(days=7), chunk_size=1000)


@pytest.fixture
def line(make_line: Callable[..., str]) -> str:
    """A line to store media for."""
    return make_line()


def pattern(size: int) -> bytes:
    """`size` bytes that differ at every offset that matters to a Range test."""
    return bytes(i * 7 % 251 for i in range(size))


async def stream(data: bytes, piece: int = 777) -> AsyncIterator[bytes]:
    """`data` in uneven pieces, as a client would send it."""
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


async def generated(total: int, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`total` bytes made piece by piece (never held whole)."""
    block = bytes(range(256)) * (piece // 256)
    sent = 0
    while sent < total:
        chunk = block[: min(piece, total - sent)]
        sent += len(chunk)
        yield chunk


def sha256_of_generated(total: int, piece: int = 64 * 1024) -> str:
    """The SHA-256 `generated(total, piece)` yields."""
    digest = hashlib.sha256()
    block = bytes(range(256)) * (piece // 256)
    sent = 0
    while sent < total:
        chunk = block[: min(piece, total - sent)]
        sent += len(chunk)
        digest.update(chunk)
    return digest.hexdigest()
