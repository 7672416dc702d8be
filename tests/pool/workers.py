"""Pool-mode worker processes for tests, and what the registry says they serve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis

from wamesh.constants import WORKER_KEY_PATTERN


@dataclass
class PoolWorker:
    """A `wamesh session --pool` child process (optionally inside a network namespace)."""

    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        """The worker's pid (the registry records it)."""
        return self.proc.pid

    def output(self) -> str:
        """What it logged so far."""
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL its process group and reap it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM; wait for the exit code."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


def spawn_pool_worker(
    env: dict[str, str], log_dir: Path, prefix: Sequence[str] = (), name: str = "pool"
) -> PoolWorker:
    """Start `python -m wamesh session --pool` (after `prefix`, e.g. `ip netns exec NS`)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "wamesh", "session", "--pool"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return PoolWorker(proc, log)


def served(redis_url: str) -> dict[str, dict[str, object]]:
    """Every registry record now: line id -> record (address, host, pid...)."""
    client = redis.Redis.from_url(redis_url)
    try:
        found: dict[str, dict[str, object]] = {}
        for key in client.scan_iter(match=WORKER_KEY_PATTERN):
            raw = client.get(key)
            if raw is not None:
                record = json.loads(raw)
                found[str(record["session_id"])] = record
        return found
    finally:
        client.close()


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, logs: Sequence[PoolWorker] = ()
) -> float:
    """Poll `check` every 50 ms; return the seconds it took, or fail naming `what`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        for worker in logs:
            if worker.proc.poll() is not None:
                raise AssertionError(
                    f"pool worker {worker.pid} exited {worker.proc.returncode}:\n{worker.output()}"
                )
        time.sleep(0.05)
    tails = "\n".join(w.output()[-3000:] for w in logs)
    raise AssertionError(f"{what}: not within {timeout} s\n{tails}")
