"""The whatsmeow store of one line: a SQLite file in a scratch folder, archived into `session_auth`.

whatsmeow keeps the device's keys, Signal sessions, pre-keys and app-state keys in its store.
wamesh keeps that store as a per-line SQLite file that is only scratch: at start it is rebuilt
from the copy PostgreSQL holds (AES-GCM encrypted by wamesh.authstate, like the browser profile),
and at stop it is archived and deleted. Why not whatsmeow's own tables in PostgreSQL: see FACTS.md
("Auth state").

The archive is the SQLite file, gzipped, taken without opening the live file with SQLite: the
Go side links its own SQLite, and a second SQLite library in the same process would neither see
its locks nor keep them (POSIX record locks are per process). So the copy is optimistic, like a
seqlock: the file is read while no rollback journal exists, and kept only if its size, mtime and
header change counter (bytes 24-27, bumped by every committed write in rollback mode) are the
same before and after; then the copy is checked with `PRAGMA quick_check` on its own file.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from wamesh.errors import EngineError

_LOGGER = logging.getLogger(__name__)
STORE_FILE = "store.db"
SIDE_FILES = ("-journal", "-wal")
COPY_ATTEMPTS = 200
COPY_PAUSE_S = 0.01
_HEADER_COUNTER = slice(24, 28)


def store_path(folder: Path) -> Path:
    """The SQLite file of a line's folder."""
    return folder / STORE_FILE


def wipe(folder: Path) -> None:
    """Remove the folder (keys included) and create it empty."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


def remove(folder: Path) -> None:
    """Remove the folder and everything in it."""
    shutil.rmtree(folder, ignore_errors=True)


def restore(folder: Path, state: bytes | None) -> str | None:
    """Rebuild the store from an archive; the own device's JID it holds, or None (pair anew).

    An unusable archive leaves an empty folder (the line pairs again) and is logged."""
    wipe(folder)
    if state is None:
        return None
    try:
        store_path(folder).write_bytes(gzip.decompress(state))
        return own_device(store_path(folder))
    except (OSError, EOFError, gzip.BadGzipFile, sqlite3.Error) as exc:
        _LOGGER.error("restoring the whatsmeow store failed (%s); the line will pair again", exc)
        wipe(folder)
        return None


def own_device(db: Path) -> str | None:
    """The JID of the device in a store file no one else has open (None when unpaired)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute("SELECT jid FROM whatsmeow_device LIMIT 1").fetchone()
        except sqlite3.OperationalError:  # no tables yet
            return None
    return str(row[0]) if row else None


def pack(db: Path) -> bytes | None:
    """A consistent gzipped copy of the live store; None when it holds no paired device."""
    if not db.exists():
        return None
    data = _consistent_copy(db)
    with tempfile.TemporaryDirectory(prefix="wamesh-whatsmeow-") as scratch:
        copy = Path(scratch) / STORE_FILE
        copy.write_bytes(data)
        _check(copy)
        if own_device(copy) is None:
            return None
    return gzip.compress(data, compresslevel=6)


def _consistent_copy(db: Path) -> bytes:
    for _ in range(COPY_ATTEMPTS):
        before = _fingerprint(db)
        if before is not None:
            data = db.read_bytes()
            if before == _fingerprint(db) and data[_HEADER_COUNTER] == before[2]:
                return data
        time.sleep(COPY_PAUSE_S)
    raise EngineError("the whatsmeow store stayed busy; it was not archived this time")


def _fingerprint(db: Path) -> tuple[int, int, bytes] | None:
    """Size, mtime and change counter; None while a write transaction may be under way."""
    if any(Path(f"{db}{suffix}").exists() for suffix in SIDE_FILES):
        return None
    stat = db.stat()
    with db.open("rb") as handle:
        header = handle.read(100)
    return stat.st_size, stat.st_mtime_ns, header[_HEADER_COUNTER]


def change_counter(db: Path) -> bytes | None:
    """The header's change counter (bumped by every committed write), None without a store."""
    try:
        with db.open("rb") as handle:
            header = handle.read(_HEADER_COUNTER.stop)
    except FileNotFoundError:
        return None
    return header[_HEADER_COUNTER] if len(header) == _HEADER_COUNTER.stop else None


def _check(copy: Path) -> None:
    with contextlib.closing(sqlite3.connect(copy)) as conn:
        result = conn.execute("PRAGMA quick_check").fetchone()
    if not result or result[0] != "ok":
        raise EngineError(f"the copy of the whatsmeow store is damaged: {result}")


def own_device_of(state: bytes) -> str | None:
    """The own device JID an archive holds (None when unpaired or unreadable)."""
    with tempfile.TemporaryDirectory(prefix="wamesh-whatsmeow-") as scratch:
        copy = Path(scratch) / STORE_FILE
        try:
            copy.write_bytes(gzip.decompress(state))
            return own_device(copy)
        except (OSError, EOFError, gzip.BadGzipFile, sqlite3.Error):
            return None
