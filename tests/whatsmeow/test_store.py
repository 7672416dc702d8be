"""The whatsmeow store archived into `session_auth` (AES-GCM, real PostgreSQL) and restored: the
line resumes its own device, keys are not readable at rest, and a logout leaves nothing."""

from __future__ import annotations

import gzip
import re
import sqlite3
import time
from pathlib import Path

from tests.whatsmeow.conftest import next_events
from wamesh.authstate import AuthStore, derive_key
from wamesh.db.pool import Pool
from wamesh.engines.base import Disconnected
from wamesh.engines.whatsmeow import store

DEVICE = "15550001111:7@s.whatsapp.net"


def paired_store(db: Path) -> None:
    """Put a device row in a store whatsmeow created (every NOT NULL column filled)."""
    with sqlite3.connect(db) as conn:
        columns = conn.execute("PRAGMA table_info(whatsmeow_device)").fetchall()
        (schema,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'whatsmeow_device'"
        ).fetchone()
        sizes = {name: int(n) for name, n in re.findall(r"length\((\w+)\)\s*=\s*(\d+)", schema)}
        values = {
            c[1]: (b"k" * sizes.get(c[1], 32) if c[1] in sizes or "BLOB" in c[2].upper() else 1)
            for c in columns
            if c[3] or c[1] in sizes
        }
        values |= {"jid": DEVICE, "platform": "", "business_name": "", "push_name": ""}
        names = [c[1] for c in columns if c[1] in values]
        marks = ", ".join("?" for _ in names)
        sql = f"INSERT INTO whatsmeow_device ({', '.join(names)}) VALUES ({marks})"
        conn.execute(sql, [values[n] for n in names])


async def created_store(make_engine, folder: Path) -> Path:
    """A store whatsmeow created (offline connect), copied out before the engine stopped."""
    engine = make_engine(folder=folder / "first", backoff_min_s=5)
    await engine.start(None)
    (event,) = await next_events(engine, 1, timeout=20)
    assert isinstance(event, Disconnected)
    copy = folder / "created.db"
    copy.write_bytes(engine.db.read_bytes())
    await engine.stop()
    return copy


class TestArchive:
    """pack / restore through wamesh.authstate."""

    async def test_archived_encrypted_restored_resumes_own_device(
        self, make_engine, pool: Pool, tmp_path: Path
    ) -> None:
        db = await created_store(make_engine, tmp_path)
        assert store.pack(db) is None  # unpaired: nothing worth keeping
        paired_store(db)
        started = time.perf_counter()
        archive = store.pack(db)
        took_ms = (time.perf_counter() - started) * 1000
        assert archive is not None
        auth = AuthStore(pool, derive_key("test-key"), "00000000-0000-0000-0000-000000000001")
        await pool_line(pool)
        await auth.save(archive)
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT state FROM wamesh.session_auth")).fetchone()
        assert row is not None
        assert b"k" * 32 not in bytes(row["state"])
        assert b"SQLite format 3" not in bytes(row["state"])  # not readable at rest
        restored = await auth.load()
        assert restored == archive
        engine = make_engine(folder=tmp_path / "second", backoff_min_s=5)
        await engine.start(restored)
        assert engine._translator.device == DEVICE
        assert engine._translator.me == "15550001111@s.whatsapp.net"
        (event,) = await next_events(engine, 1, timeout=20)  # resumed, and offline
        assert isinstance(event, Disconnected)
        await engine.stop()
        kept = await engine.export_auth_state()  # the copy taken at stop
        assert kept is not None
        assert store.own_device_of(kept) == DEVICE
        assert not (tmp_path / "second").exists()
        size = len(gzip.decompress(archive))
        print(f"\nwhatsmeow store: {size / 1024:.0f} KiB, archived in {took_ms:.1f} ms")

    def test_a_damaged_archive_pairs_again(self, tmp_path: Path) -> None:
        assert store.restore(tmp_path / "line", b"not gzip") is None
        assert list((tmp_path / "line").iterdir()) == []


async def pool_line(pool: Pool) -> None:
    """The `sessions` row session_auth refers to."""
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO wamesh.sessions (id, name, engine, webhook_secret) "
            "VALUES ('00000000-0000-0000-0000-000000000001', 'w', 'whatsmeow', 'whsec_x')"
        )
