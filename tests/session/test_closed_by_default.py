"""A session worker serves every call a line can make to whoever reaches its port, so it refuses
to start without WAMESH_MESH_TOKEN unless it listens on loopback only or dev mode is on."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from wamesh.errors import ConfigError
from wamesh.session.cli import require_mesh_token
from wamesh.settings import Settings


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


class TestRequireMeshToken:
    """Open binds need the token; loopback and dev mode do not."""

    @pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.7", "worker.internal"])
    def test_an_open_bind_without_a_token_is_refused(self, host: str) -> None:
        with pytest.raises(ConfigError, match="WAMESH_MESH_TOKEN is required"):
            require_mesh_token(settings(WAMESH_GRPC_BIND_HOST=host))

    @pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
    def test_loopback_needs_no_token(self, host: str) -> None:
        require_mesh_token(settings(WAMESH_GRPC_BIND_HOST=host))

    def test_a_token_or_dev_mode_opens_any_bind(self) -> None:
        require_mesh_token(settings(WAMESH_GRPC_BIND_HOST="::", WAMESH_MESH_TOKEN="t"))
        require_mesh_token(settings(WAMESH_GRPC_BIND_HOST="::", WAMESH_DEV="true"))


def test_the_worker_exits_non_zero_with_one_line() -> None:
    """`wamesh session` bound to every address without a token stops before connecting."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
        "WAMESH_GRPC_BIND_HOST": "0.0.0.0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "wamesh", "session", "--id", str(uuid.uuid4())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    print(f"\nno mesh token, bound to 0.0.0.0: exit {done.returncode}, {len(lines)} line: {lines}")
    assert done.returncode != 0
    assert len(lines) == 1, done.stderr
    assert "WAMESH_MESH_TOKEN is required" in lines[0]
