"""`scripts/bootstrap` installs by need: a sandbox dev mesh needs only PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[2] / "scripts" / "bootstrap"


def plan(*args: str) -> set[str]:
    """The packages the bootstrap wants for these arguments (it installs nothing in plan mode)."""
    env = {**os.environ, "WAMESH_BOOTSTRAP_PLAN": "1"}
    out = subprocess.run(
        ["bash", str(BOOTSTRAP), *args], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("wants: "), out
    return set(out.removeprefix("wants: ").split())


BASE = {"postgresql", "redis-server"}


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (("test",), BASE | {"chromium", "nix-bin", "pgbouncer", "libmagic1", "iproute2", "socat"}),
        ((), BASE | {"chromium", "nix-bin", "pgbouncer", "libmagic1", "iproute2", "socat"}),
        (("dev",), BASE),
        (("dev", "--http-port", "9090"), BASE),
        (("dev", "--engine", "browser"), BASE | {"chromium"}),
        (("dev", "--engine=whatsmeow"), BASE | {"libmagic1"}),
    ],
)
def test_each_mode_wants_only_what_it_runs(args: tuple[str, ...], wanted: set[str]) -> None:
    assert plan(*args) == wanted


def test_an_unknown_mode_is_refused_with_the_known_ones() -> None:
    run = subprocess.run(["bash", str(BOOTSTRAP), "deploy"], capture_output=True, text=True)
    assert run.returncode == 2
    assert "test or dev" in run.stderr
