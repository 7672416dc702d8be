"""Real session worker processes for tests: spawn, find in the registry, signal, clean up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from wamesh.constants import WORKER_KEY

LINE_SECRET = "whsec_" + "dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q="


def create_line(
    database_url: str,
    *,
    engine: str = "sandbox",
    webhook_url: str | None = "http://127.0.0.1:9/hook",
    webhook_events: list[str] | None = None,
    name: str = "test line",
) -> str:
    """Insert a line row directly; return its id."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO wamesh.sessions (name, engine, webhook_url, webhook_secret, webhook_events) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id::text",
            (name, engine, webhook_url, LINE_SECRET, webhook_events or []),
        ).fetchone()
    assert row is not None
    return str(row[0])


def worker_env(database_url: str, redis_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """Environment of a test worker: fast QR rotation, short lease, its own sandbox folder."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WAMESH_AUTH_KEY": "test-auth-key",
        "WAMESH_SANDBOX_DIR": str(tmp / "sandbox"),
        "WAMESH_PROFILE_DIR": str(tmp / "profiles"),
        "WAMESH_LEASE_TTL_MS": "1500",
        "WAMESH_SANDBOX_ACK_DELAY_MS": "20",
        "WAMESH_LOG_FORMAT": "text",
        "WAMESH_LOG_LEVEL": "info",
        "WEBHOOK_ALLOW_PRIVATE": "true",
    }
    env.update(extra)
    return env


@dataclass
class WorkerProcess:
    """A `wamesh session` child process."""

    session_id: str
    proc: subprocess.Popen[bytes]
    log: Path
    redis_url: str
    _address: str | None = field(default=None)

    def output(self) -> str:
        """What it logged so far."""
        return self.log.read_text(errors="replace")

    def wait_registered(self, timeout: float = 30) -> str:
        """Wait until this process holds the line's registry entry; return its address."""
        client = redis.Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"worker exited with {self.proc.returncode}:\n{self.output()}"
                    )
                raw = client.get(WORKER_KEY.format(session_id=self.session_id))
                if raw is not None and json.loads(raw)["pid"] == self.proc.pid:
                    self._address = str(json.loads(raw)["address"])
                    return self._address
                time.sleep(0.05)
        finally:
            client.close()
        raise AssertionError(f"worker did not register within {timeout}s:\n{self.output()}")

    @property
    def address(self) -> str:
        """The registered address (after wait_registered)."""
        assert self._address is not None
        return self._address

    def signal(self, sig: signal.Signals) -> None:
        """Send a signal to the worker."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout: float = 30) -> int:
        """Wait for exit; return the code."""
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL its whole process group and reap it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def spawn_worker(session_id: str, env: dict[str, str], log_dir: Path) -> WorkerProcess:
    """Start `python -m wamesh session --id <id>` in its own process group."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"worker-{session_id[:8]}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wamesh", "session", "--id", session_id],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return WorkerProcess(session_id, proc, log, env["REDIS_URL"])


@contextmanager
def worker_processes() -> Iterator[list[WorkerProcess]]:
    """Collects spawned workers and kills any still running at the end."""
    spawned: list[WorkerProcess] = []
    try:
        yield spawned
    finally:
        for worker in spawned:
            worker.kill()
