"""`wamesh dev`'s state folder: generated keys and chosen ports, kept between runs.

Layout: `dev.json` (mode 0600: the dev API key, auth key and mesh token, and the ports of the
private servers), `api-key` (the API key alone, for `$(cat .wamesh/api-key)`), `postgres/` and
`redis/` (their data), `sandbox/` and `profiles/` (engines), `logs/` (one file per child process).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class DevState:
    """What `wamesh dev` keeps between runs."""

    api_key: str = field(repr=False, default_factory=lambda: "dev_" + secrets.token_urlsafe(24))
    auth_key: str = field(repr=False, default_factory=lambda: secrets.token_urlsafe(32))
    mesh_token: str = field(repr=False, default_factory=lambda: secrets.token_urlsafe(24))
    postgres_port: int = 0
    redis_port: int = 0


def load_state(root: Path) -> DevState:
    """The saved state, or a new one (saved at once)."""
    path = root / "dev.json"
    if path.exists():
        known = {
            k: v
            for k, v in json.loads(path.read_text()).items()
            if k in DevState.__dataclass_fields__
        }
        return DevState(**known)
    state = DevState()
    save_state(root, state)
    return state


def save_state(root: Path, state: DevState) -> None:
    """Write dev.json, and the API key alone in `api-key` (for shell use), owner-readable only."""
    root.mkdir(parents=True, exist_ok=True)
    _write_private(root / "dev.json", json.dumps(asdict(state), indent=2))
    _write_private(root / "api-key", state.api_key)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
