"""`wamesh dev`'s state folder: generated keys and chosen ports, kept between runs.

Layout: `dev.json` (mode 0600: the dev API key, auth key and mesh token, and the ports of the
private servers), `postgres/` and `redis/` (their data), `sandbox/` and `profiles/` (engines),
`logs/` (one file per child process).
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

    api_key: str = field(default_factory=lambda: "dev_" + secrets.token_urlsafe(24))
    auth_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    mesh_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
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
    """Write dev.json readable by the owner only."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "dev.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(state), out, indent=2)
