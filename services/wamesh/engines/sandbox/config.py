"""Timing, storage and identity of one sandbox line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from wamesh.jid import USER_SERVER
from wamesh.record import Record

RECONNECT_DELAY_S = 1.0
PAIRING_CODE_TTL_S = 180.0


@dataclass(frozen=True, eq=False, repr=False)
class SandboxConfig(Record):
    """Timing and storage of one sandbox line."""

    session_id: str
    data_dir: Path
    qr_interval_s: float = 20.0
    qr_max_rotations: int = 6
    ack_delay_s: float = 0.3
    reconnect_delay_s: float = RECONNECT_DELAY_S
    pairing_code_ttl_s: float = PAIRING_CODE_TTL_S


def fake_own_jid(session_id: str) -> str:
    """A stable fake phone number for the line: 1555 plus digits derived from its id."""
    digits = str(int(hashlib.sha256(session_id.encode()).hexdigest(), 16))[:7]
    return f"1555{digits}@{USER_SERVER}"
